/**
 * Collects what the bmap parser needs while the XML reader streams through a bmap: the root element, the
 * known direct children of <bmap> (their own text), and every <Range> of <BlockMap> in a compact form. No
 * tree of the whole document is kept, so a bmap of a million ranges costs a million small records.
 */
import type { XmlHandler } from './xml-reader';

export const BMAP_FIELDS = ['ImageSize', 'BlockSize', 'BlocksCount', 'MappedBlocksCount', 'ChecksumType', 'BmapFileSHA1',
  'BmapFileChecksum', 'BlockMap'] as const;
export type BmapField = (typeof BMAP_FIELDS)[number];

/** A known direct child of <bmap>. */
export interface FieldElement {
  name: BmapField;
  /** Its direct character data, not trimmed. */
  text: string;
  /** 1-based line of its start tag. */
  line: number;
  /** True when it holds child elements. */
  nested: boolean;
}

/** One <Range> of <BlockMap>, as written. */
export interface RawRange {
  text: string;
  line: number;
  nested: boolean;
  chksum: string | undefined;
  sha1: string | undefined;
}

export interface RootElement {
  name: string;
  attributes: Readonly<Record<string, string>>;
  line: number;
}

const isField = (name: string): name is BmapField => (BMAP_FIELDS as readonly string[]).includes(name);

export class BmapCollector implements XmlHandler {
  root: RootElement | null = null;
  readonly fields = new Map<BmapField, FieldElement>();
  /** The first known field that appears twice. */
  duplicate: { first: FieldElement; again: FieldElement } | null = null;
  readonly ranges: RawRange[] = [];
  /** Elements open right now. */
  private depth = 0;
  private field: FieldElement | null = null;
  private range: RawRange | null = null;

  open(name: string, attributes: Readonly<Record<string, string>>, line: number, depth: number): void {
    this.depth = depth + 1;
    if (depth === 0) {
      this.root = { name, attributes, line };
    } else if (depth === 1) {
      this.field = isField(name) ? { name, text: '', line, nested: false } : null;
      if (!this.field) return;
      const earlier = this.fields.get(this.field.name);
      if (!earlier) this.fields.set(this.field.name, this.field);
      else this.duplicate ??= { first: earlier, again: this.field };
    } else if (depth === 2 && this.field) {
      this.field.nested = true;
      const inBlockMap = this.field.name === 'BlockMap' && this.fields.get('BlockMap') === this.field;
      this.range = inBlockMap && name === 'Range' ? { text: '', line, nested: false, chksum: attributes['chksum'], sha1: attributes['sha1'] } : null;
      if (this.range) this.ranges.push(this.range);
    } else if (depth === 3 && this.range) {
      this.range.nested = true;
    }
  }

  text(text: string): void {
    if (this.depth === 2 && this.field) this.field.text += text;
    else if (this.depth === 3 && this.range) this.range.text += text;
  }

  close(): void {
    this.depth--;
    if (this.depth === 1) this.field = null;
    else if (this.depth === 2) this.range = null;
  }
}
