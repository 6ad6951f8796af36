/**
 * The capacity probe's marker header. The engine writes 4 KiB markers that start with it across a card's
 * declared size (src/main/engine/lane/capacity-probe.ts); a card's content fingerprint leaves such blocks
 * out (src/main/drives/card-identity.ts), so the markers of one flash (a new nonce each time) do not make
 * the same card look like another one next time.
 */
export const PROBE_MARKER_MAGIC = 'SUREFLASH-PROBE1';

/** Size of one marker, and the grid the markers sit on. */
export const PROBE_MARKER_BYTES = 4096;
