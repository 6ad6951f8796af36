/**
 * A small, strict XML reader for the bmap dialect: elements, attributes (quoted with ' or "), character data,
 * comments, CDATA, processing instructions and the XML declaration. Document type declarations and entity
 * declarations are refused outright, and only the five predefined entities plus numeric character references
 * are expanded, so nothing in a bmap can make the reader fetch or expand anything.
 */

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
const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const MAX_DEPTH = 64;

/** Parses a whole document and returns its root element. Throws XmlSyntaxError. */
export function parseXml(source: string): XmlElement {
  return new Reader(source).document();
}

class Reader {
  private pos = 0;
  private lineAtPos = 1;
  private lineCountedTo = 0;
  private readonly stack: XmlElement[] = [];
  private root: XmlElement | null = null;

  constructor(private readonly s: string) {}

  document(): XmlElement {
    const nul = this.s.indexOf('\0');
    if (nul >= 0) this.fail('the file contains NUL bytes; it is not a text file', nul);
    if (this.s.startsWith('\uFEFF')) this.pos = 1;
    if (this.s.startsWith('<?xml', this.pos) && /[\s?]/.test(this.s.charAt(this.pos + 5))) this.declaration();
    while (this.pos < this.s.length) {
      const lt = this.s.indexOf('<', this.pos);
      const end = lt < 0 ? this.s.length : lt;
      if (end > this.pos) this.text(this.pos, end);
      if (lt < 0) break;
      this.pos = lt;
      this.markup();
    }
    const open = this.stack[this.stack.length - 1];
    if (open) this.fail(`the file ends before <${open.name}> (opened on line ${open.line}) is closed`, this.s.length);
    if (!this.root) this.fail('the file holds no XML element', this.s.length);
    return this.root;
  }

  /** 1-based line of `pos`; counts forward from the last call when it can. */
  private lineOf(pos: number): number {
    if (pos < this.lineCountedTo) {
      this.lineCountedTo = 0;
      this.lineAtPos = 1;
    }
    for (let i = this.s.indexOf('\n', this.lineCountedTo); i >= 0 && i < pos; i = this.s.indexOf('\n', i + 1)) {
      this.lineAtPos++;
    }
    this.lineCountedTo = pos;
    return this.lineAtPos;
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
    const open = this.stack[this.stack.length - 1];
    if (!open) this.fail('character data outside the root element');
    open.text += this.s.slice(start, end);
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
    const open = this.stack[this.stack.length - 1];
    if (!open) {
      if (/[^ \t\r\n]/.test(raw)) this.fail('text outside the root element', start + raw.search(/[^ \t\r\n]/));
      return;
    }
    // Indentation between child elements is not kept (a BlockMap would otherwise gather one run per Range).
    if (open.children.length > 0 && !/[^ \t\r\n]/.test(raw)) return;
    open.text += this.expand(raw, start);
  }

  private startTag(): void {
    const tagStart = this.pos;
    const name = this.name(this.pos + 1, 'an element name');
    const attributes: Record<string, string> = Object.create(null) as Record<string, string>;
    for (;;) {
      const hadSpace = this.skipSpace();
      const c = this.s.charAt(this.pos);
      if (c === '>' || this.s.startsWith('/>', this.pos)) break;
      if (c === '') this.fail(`the start tag <${name}> is not closed`, tagStart);
      if (!hadSpace) this.fail(`expected white space, ">" or "/>" in the start tag <${name}>`);
      this.attribute(name, attributes);
    }
    const selfClosing = this.s.charAt(this.pos) === '/';
    this.pos += selfClosing ? 2 : 1;
    if (this.root && this.stack.length === 0) this.fail(`a second root element <${name}>`, tagStart);
    if (this.stack.length >= MAX_DEPTH) this.fail(`elements are nested more than ${MAX_DEPTH} deep`, tagStart);
    const element: XmlElement = { name, attributes, children: [], text: '', line: this.lineOf(tagStart) };
    this.stack[this.stack.length - 1]?.children.push(element);
    if (this.stack.length === 0) this.root = element;
    if (!selfClosing) this.stack.push(element);
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
    const open = this.stack.pop();
    if (!open) this.fail(`the end tag </${name}> has no matching start tag`, start);
    if (open.name !== name) {
      this.fail(`the end tag </${name}> does not match <${open.name}> opened on line ${open.line}`, start);
    }
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
      const predefined = PREDEFINED[ref];
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
