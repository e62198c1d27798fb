/** Placeholder replaced below. */
export async function runE2eBench(): Promise<void> {}
