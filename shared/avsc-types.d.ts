/**
 * Typings of avsc's types-only entry point, which avsc ships for builds that need no files, containers, RPC services
 * or IDL (https://github.com/mtth/avsc/wiki#browser-support): the same `Type` as `import avro from 'avsc'`.
 */
declare module 'avsc/etc/browser/avsc-types.js' {
  import type { Type } from 'avsc';

  const avroTypes: { readonly Type: typeof Type };
  export default avroTypes;
}
