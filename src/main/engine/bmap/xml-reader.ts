/**
 * A small, strict XML reader for the bmap dialect: elements, attributes (quoted with ' or "), character data,
 * comments, CDATA, processing instructions and the XML declaration. Document type declarations and entity
 * declarations are refused outright, and only the five predefined entities plus numeric character references
 * are expanded, so nothing in a bmap can make the reader fetch or expand anything.
 *
 * The reader makes one forward pass: every scan starts at the cursor and the cursor never moves back, line
 * numbers are counted over the characters between two positions once, so the work is linear in the input
 * (`work` counts it). It reports what it reads to a handler (no tree is built unless `parseXml` is used),
 * stops after a bounded number of elements, attributes and levels of nesting, and can be driven in slices
 * (`step`) so a caller can yield to its event loop and honour a cancel between them.
 */

/** What the reader reports, in document order. */
export interface XmlHandler {
  /** A start tag (self-closing ones are followed at once by `close`). `depth` is 0 for the root. */
  open(name: string, attributes: Readonly<Record<string, string>>, line: number, depth: number): void;
  /** Character data (entities expanded, CDATA included) directly inside the innermost open element. */
  text(text: string): void;
  close(name: string): void;
}

/** Bounds on the document's shape; a document beyond them is refused as malformed. */
export interface XmlLimits {
  maxDepth: number;
  maxElements: number;
  maxAttributes: number;
}

export const DEFAULT_XML_LIMITS: Readonly<XmlLimits> = { maxDepth: 64, maxElements: 4_000_000, maxAttributes: 64 };

/** One element with its attributes, child elements and its own (direct) character data. */
export interface XmlElement {
  name: string;
  /** Attribute values by name (a prototype-less object), entities expanded. */
  attributes: Readonly<Record<string, string>>;
  children: XmlElement[];
  /** Direct character data, entities expanded, not trimmed (white space between child elements is dropped). */
  text: string;
  /** 1-based line of the element's start tag. */
  line: number;
}

/** Malformed or refused XML, with the 1-based line where the reader stopped. */
export class XmlSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'XmlSyntaxError';
  }
}

const NAME = /[A-Za-z_:][A-Za-z0-9_:.-]*/y;
const SPACE = /[ \t\r\n]*/y;
const NOT_SPACE = /[^ \t\r\n]/;
const PREDEFINED: ReadonlyMap<string, string> = new Map([['lt', '<'], ['gt', '>'], ['amp', '&'], ['quot', '"'], ['apos', "'"]]);
const LT = 0x3c;
const NEWLINE = 0x0a;

/** Parses a whole document into a tree and returns its root element. Throws XmlSyntaxError. */
export function parseXml(source: string, limits: Partial<XmlLimits> = {}): XmlElement {
  const builder = new TreeBuilder();
  new XmlReader(source, builder, limits).step(Number.POSITIVE_INFINITY);
  if (!builder.root) throw new XmlSyntaxError('the file holds no XML element', 1);
  return builder.root;
}

class TreeBuilder implements XmlHandler {
  root: XmlElement | null = null;
  private readonly stack: XmlElement[] = [];

  open(name: string, attributes: Readonly<Record<string, string>>, line: number): void {
    const element: XmlElement = { name, attributes, children: [], text: '', line };
    const parent = this.stack[this.stack.length - 1];
    if (parent) parent.children.push(element);
    else this.root = element;
    this.stack.push(element);
  }

  text(text: string): void {
    const open = this.stack[this.stack.length - 1];
    // Indentation between child elements is not kept (a BlockMap would otherwise gather one run per Range).
    if (!open || (open.children.length > 0 && !NOT_SPACE.test(text))) return;
    open.text += text;
  }

  close(): void {
    this.stack.pop();
  }
}

export class XmlReader {
  private pos = 0;
  private lineAtPos = 1;
  private lineCountedTo = 0;
  private readonly open: { name: string; line: number }[] = [];
  private hasRoot = false;
  private elements = 0;
  private started = false;
  private done = false;
  private counted = 0;
  private readonly limits: XmlLimits;

  constructor(
    private readonly s: string,
    private readonly handler: XmlHandler,
    limits: Partial<XmlLimits> = {},
  ) {
    this.limits = { ...DEFAULT_XML_LIMITS, ...limits };
  }

  /** Characters consumed so far. */
  get position(): number {
    return this.pos;
  }

  /** Characters the reader has walked over: consumed ones plus those counted for line numbers. */
  get work(): number {
    return this.pos + this.counted;
  }

  /**
   * Reads on until at least `chars` more characters are consumed or the document ends. Returns true once
   * the whole document is read and checked. Throws XmlSyntaxError.
   */
  step(chars: number): boolean {
    if (this.done) return true;
    if (!this.started) this.start();
    const stop = this.pos + chars;
    const s = this.s;
    while (this.pos < s.length && this.pos < stop) {
      if (s.charCodeAt(this.pos) === LT) {
        this.markup();
        continue;
      }
      const lt = s.indexOf('<', this.pos);
      const end = lt < 0 ? s.length : lt;
      this.text(this.pos, end);
      this.pos = end;
    }
    if (this.pos < s.length) return false;
    const open = this.open[this.open.length - 1];
    if (open) this.fail(`the file ends before <${open.name}> (opened on line ${open.line}) is closed`, s.length);
    if (!this.hasRoot) this.fail('the file holds no XML element', s.length);
    this.done = true;
    return true;
  }

  private start(): void {
    this.started = true;
    const nul = this.s.indexOf('\0');
    if (nul >= 0) this.fail('the file contains NUL bytes; it is not a text file', nul);
    if (this.s.startsWith('\uFEFF')) this.pos = 1;
    if (this.s.startsWith('<?xml', this.pos) && /[\s?]/.test(this.s.charAt(this.pos + 5))) this.declaration();
  }

  /** 1-based line of `pos`, counting only the characters since the last call (positions only move on). */
  private lineOf(pos: number): number {
    if (pos < this.lineCountedTo) {
      // Only an error message asks for an earlier position: count again from the start, once.
      this.lineCountedTo = 0;
      this.lineAtPos = 1;
    }
    const s = this.s;
    const end = Math.min(pos, s.length);
    let line = this.lineAtPos;
    for (let i = this.lineCountedTo; i < end; i++) if (s.charCodeAt(i) === NEWLINE) line++;
    this.counted += Math.max(0, end - this.lineCountedTo);
    this.lineAtPos = line;
    this.lineCountedTo = Math.max(this.lineCountedTo, end);
    return line;
  }

  private fail(message: string, at: number = this.pos): never {
    throw new XmlSyntaxError(message, this.lineOf(at));
  }

  private declaration(): void {
    const end = this.s.indexOf('?>', this.pos);
    if (end < 0) this.fail('the XML declaration is not closed with "?>"');
    const body = this.s.slice(this.pos + 5, end);
    const encoding = /encoding\s*=\s*["']([^"']*)["']/.exec(body)?.[1];
    if (encoding !== undefined && !/^(utf-?8|us-ascii|ascii)$/i.test(encoding)) {
      this.fail(`the XML declaration names encoding "${encoding}"; a bmap must be UTF-8 or ASCII`);
    }
    this.pos = end + 2;
  }

  private markup(): void {
    const s = this.s;
    if (s.startsWith('<!--', this.pos)) return this.comment();
    if (s.startsWith('<![CDATA[', this.pos)) return this.cdata();
    if (s.startsWith('<!DOCTYPE', this.pos)) {
      this.fail('document type declarations (<!DOCTYPE>) are not allowed in a bmap');
    }
    if (s.startsWith('<!ENTITY', this.pos)) this.fail('entity declarations (<!ENTITY>) are not allowed in a bmap');
    if (s.startsWith('<!', this.pos)) this.fail('unexpected "<!" markup');
    if (s.startsWith('<?', this.pos)) return this.processingInstruction();
    if (s.startsWith('</', this.pos)) return this.endTag();
    this.startTag();
  }

  private comment(): void {
    const start = this.pos;
    const end = this.s.indexOf('--', start + 4);
    if (end < 0) this.fail('a comment is not closed with "-->"', start);
    if (this.s.charAt(end + 2) !== '>') this.fail('"--" is not allowed inside a comment', end);
    this.pos = end + 3;
  }

  private cdata(): void {
    const start = this.pos + 9;
    const end = this.s.indexOf(']]>', start);
    if (end < 0) this.fail('a CDATA section is not closed with "]]>"');
    if (this.open.length === 0) this.fail('character data outside the root element');
    this.handler.text(this.s.slice(start, end));
    this.pos = end + 3;
  }

  private processingInstruction(): void {
    NAME.lastIndex = this.pos + 2;
    const m = NAME.exec(this.s);
    if (!m) this.fail('a processing instruction has no target name');
    if (m[0].toLowerCase() === 'xml') this.fail('the XML declaration is only allowed at the very start of the file');
    const end = this.s.indexOf('?>', this.pos);
    if (end < 0) this.fail('a processing instruction is not closed with "?>"');
    this.pos = end + 2;
  }

  private text(start: number, end: number): void {
    const raw = this.s.slice(start, end);
    if (this.open.length === 0) {
      const at = raw.search(NOT_SPACE);
      if (at >= 0) this.fail('text outside the root element', start + at);
      return;
    }
    this.handler.text(this.expand(raw, start));
  }

  private startTag(): void {
    const tagStart = this.pos;
    const name = this.name(this.pos + 1, 'an element name');
    const attributes: Record<string, string> = Object.create(null) as Record<string, string>;
    let count = 0;
    for (;;) {
      const hadSpace = this.skipSpace();
      const c = this.s.charAt(this.pos);
      if (c === '>' || this.s.startsWith('/>', this.pos)) break;
      if (c === '') this.fail(`the start tag <${name}> is not closed`, tagStart);
      if (!hadSpace) this.fail(`expected white space, ">" or "/>" in the start tag <${name}>`);
      if (++count > this.limits.maxAttributes) {
        this.fail(`<${name}> has more than ${this.limits.maxAttributes} attributes`, tagStart);
      }
      this.attribute(name, attributes);
    }
    const selfClosing = this.s.charAt(this.pos) === '/';
    this.pos += selfClosing ? 2 : 1;
    if (this.hasRoot && this.open.length === 0) this.fail(`a second root element <${name}>`, tagStart);
    const depth = this.open.length;
    if (depth >= this.limits.maxDepth) this.fail(`elements are nested more than ${this.limits.maxDepth} deep`, tagStart);
    if (++this.elements > this.limits.maxElements) {
      this.fail(`the file holds more than ${this.limits.maxElements.toLocaleString('en-US')} elements`, tagStart);
    }
    this.hasRoot = true;
    const line = this.lineOf(tagStart);
    this.handler.open(name, attributes, line, depth);
    if (selfClosing) this.handler.close(name);
    else this.open.push({ name, line });
  }

  private attribute(element: string, into: Record<string, string>): void {
    const at = this.pos;
    const name = this.name(this.pos, `an attribute name in <${element}>`);
    this.skipSpace();
    if (this.s.charAt(this.pos) !== '=') this.fail(`attribute "${name}" of <${element}> has no "=" and value`);
    this.pos++;
    this.skipSpace();
    const quote = this.s.charAt(this.pos);
    if (quote !== '"' && quote !== "'") this.fail(`the value of attribute "${name}" is not quoted`);
    const end = this.s.indexOf(quote, this.pos + 1);
    if (end < 0) this.fail(`the value of attribute "${name}" is not closed`);
    const raw = this.s.slice(this.pos + 1, end);
    const lt = raw.indexOf('<');
    if (lt >= 0) this.fail(`"<" is not allowed in the value of attribute "${name}"`, this.pos + 1 + lt);
    if (name in into) this.fail(`attribute "${name}" appears twice in <${element}>`, at);
    into[name] = this.expand(raw, this.pos + 1).replace(/[\t\r\n]/g, ' ');
    this.pos = end + 1;
  }

  private endTag(): void {
    const start = this.pos;
    const name = this.name(this.pos + 2, 'an element name after "</"');
    this.skipSpace();
    if (this.s.charAt(this.pos) !== '>') this.fail(`the end tag </${name}> is not closed with ">"`);
    this.pos++;
    const open = this.open.pop();
    if (!open) this.fail(`the end tag </${name}> has no matching start tag`, start);
    if (open.name !== name) {
      this.fail(`the end tag </${name}> does not match <${open.name}> opened on line ${open.line}`, start);
    }
    this.handler.close(name);
  }

  private name(at: number, what: string): string {
    NAME.lastIndex = at;
    const m = NAME.exec(this.s);
    if (!m) this.fail(`expected ${what}`, at);
    this.pos = at + m[0].length;
    return m[0];
  }

  private skipSpace(): boolean {
    SPACE.lastIndex = this.pos;
    SPACE.exec(this.s);
    const moved = SPACE.lastIndex > this.pos;
    this.pos = SPACE.lastIndex;
    return moved;
  }

  /** Expands the predefined entities and character references; anything else is refused. */
  private expand(raw: string, offset: number): string {
    if (!raw.includes('&')) return raw;
    return raw.replace(/&([^;&<\s]*);?/g, (whole: string, ref: string, index: number) => {
      const at = offset + index;
      if (!whole.endsWith(';')) this.fail(`"&" must start an entity reference ending in ";"`, at);
      const predefined = PREDEFINED.get(ref);
      if (predefined !== undefined) return predefined;
      const num = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(ref);
      if (!num) this.fail(`the entity "&${ref};" is not defined (a bmap may use only &lt; &gt; &amp; &quot; &apos;)`, at);
      const code = num[1] !== undefined ? parseInt(num[1], 16) : parseInt(num[2] ?? '', 10);
      const valid = code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff));
      if (!valid) this.fail(`"&${ref};" is not a valid character`, at);
      return String.fromCodePoint(code);
    });
  }
}
