/**
 * The one zod of orderflow: the tree-shakable `zod/mini` build, with its English messages configured before any
 * schema parses. Every module imports zod from here, never from `zod` itself.
 *
 * @example
 * import * as z from './zod.js';
 * const name = z.string().check(z.trim(), z.minLength(1));
 * name.safeParse('').error?.issues[0]?.message; // 'Too small: expected string to have >=1 characters'
 */
// `zod/mini`, not `zod`: classic zod defines every method on every schema instance, so a bundle keeps all of zod
// classic whatever it calls (89.5 KiB minified in each function); mini's API is functions, so a bundle keeps those it
// calls (25-34 KiB), measured with `npm run bench -- --bundles`. Mini comes without messages (every issue says
// "Invalid input"): the English locale, imported alone, gives exactly classic zod's messages; the `locales`
// namespace would bring all 40 (283 KiB). https://zod.dev/packages/mini
//
// Import it as a namespace, `import * as z from './zod.js'`: esbuild then tree-shakes `z.*` through the
// `export *`. A namespace re-exported as one binding (`export { z }`, `export * as z`) is an object esbuild must
// keep whole: all of zod/mini and its locales, 422 KiB minified against 20 KiB for one object schema.
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';
