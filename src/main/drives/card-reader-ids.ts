/**
 * USB vendor:product ids of common memory-card reader chips: a selection of the ids the public usb.ids
 * database lists as SD / multi-card readers (Realtek, Genesys Logic, Alcor Micro, SanDisk ImageMate, Super
 * Top, Transcend, Silicon Motion, Chipsbank, ICSI, GEMBIRD). One hint among others for serialScopeOf: a
 * reader missing here can still be recognised by its LUNs or its name.
 */
const READERS: Record<string, readonly string[]> = {
  // Realtek
  '0bda': ['0103', '0109', '0111', '0115', '0116', '0119', '0129', '0138', '0139', '0151', '0153', '0158', '0159', '0184', '0186', '0301', '0307', '0316', '0326'],
  // Genesys Logic
  '05e3': ['0703', '0704', '0705', '0706', '0707', '0708', '0709', '070e', '0710', '0711', '0716', '0717', '0722', '0723', '0726', '0727', '0732', '0736', '0738', '0741', '0743', '0748', '0749', '0751', '0760', '0927'],
  // Alcor Micro
  '058f': ['6331', '6332', '6335', '6360', '6361', '6362', '6364', '6366', '6377', '9360', '9361', '9368'],
  // SanDisk ImageMate and SanDisk-branded readers
  '0781': ['0100', '0400', '0621', '0830', '8888', '8889', '8919', '8989', '9219', '9393', '9919', 'a7c1', 'b4b5', 'b6b7', 'cfc9'],
  // Super Top
  '14cd': ['1212', '121c', '121f', '123a', '125c', '127b', '6700', '6900'],
  // Transcend RDF8 / RDF9
  '8564': ['4000'],
  // Silicon Motion (Feiya)
  '090c': ['1132', '6000', '6200'],
  // Chipsbank
  '1e3d': ['4082'],
  // Integrated Circuit Solution
  '0dda': ['2026', '2027'],
  // GEMBIRD
  '1908': ['0226'],
};

const KNOWN = new Set(Object.entries(READERS).flatMap(([vendor, products]) => products.map((p) => `${vendor}:${p}`)));

/** True when vendor:product (hex, any case) is a known card-reader chip. */
export function isKnownCardReader(vendorId: string, productId: string): boolean {
  return KNOWN.has(`${vendorId.trim().toLowerCase()}:${productId.trim().toLowerCase()}`);
}
