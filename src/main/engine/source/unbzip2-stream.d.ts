declare module 'unbzip2-stream' {
  import type { Duplex } from 'node:stream';
  /** A classic (through) stream: compressed bzip2 in, decompressed bytes out. */
  function unbzip2Stream(): Duplex;
  export default unbzip2Stream;
}
