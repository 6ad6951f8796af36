import { describe, expect, it } from 'vitest';
import { parseXml, XmlSyntaxError } from '../../src/main/engine/bmap/xml-reader';

function syntaxError(xml: string): XmlSyntaxError {
  try {
    parseXml(xml);
  } catch (err) {
    if (err instanceof XmlSyntaxError) return err;
    throw err;
  }
  throw new Error('expected an XmlSyntaxError');
}

describe('the small XML reader behind the bmap parser', () => {
  it('reads nesting, self-closing tags, both quote styles and expanded attribute values', () => {
    const root = parseXml(`<a x="1 &gt; 0" y='say "hi"'\n z = "&#x41;&amp;&#66;"><b/><c>t&lt;u</c>tail</a>`);
    expect(root.name).toBe('a');
    expect({ ...root.attributes }).toEqual({ x: '1 > 0', y: 'say "hi"', z: 'A&B' });
    expect(root.children.map((c) => c.name)).toEqual(['b', 'c']);
    expect(root.children[1]?.text).toBe('t<u');
    expect(root.text).toBe('tail');
  });

  it('keeps line numbers of start tags, across comments and CRLF line ends', () => {
    const root = parseXml('<?xml version="1.0"?>\r\n<!--\r\n two\r\n-->\r\n<r>\r\n  <s/>\r\n</r>\r\n');
    expect(root.line).toBe(5);
    expect(root.children[0]?.line).toBe(6);
  });

  it('attributes do not leak prototype names', () => {
    const root = parseXml('<r a="1"/>');
    expect(root.attributes['toString']).toBeUndefined();
    expect(root.attributes['__proto__']).toBeUndefined();
  });

  it.each([
    ['<a><b></a>', 1, /<\/a> does not match <b>/],
    ['<a>\n\n<b x="1" x="2"/></a>', 3, /appears twice/],
    ['<a>\n<b x="1"y="2"/></a>', 2, /expected white space/],
    ['<a>&#0;</a>', 1, /not a valid character/],
    ['<a>&#xD800;</a>', 1, /not a valid character/],
    ['<a>fish & chips</a>', 1, /"&" must start an entity reference/],
    ['<a x="<"/>', 1, /"<" is not allowed/],
    ['<a>\n<!-- x', 2, /comment is not closed/],
    ['<a><![CDATA[ x </a>', 1, /CDATA section is not closed/],
    ['<a><!ELEMENT a ANY></a>', 1, /unexpected "<!"/],
    ['<?xml version="1.0"?>\n\n<!DOCTYPE a [<!ENTITY e "e">]><a>&e;</a>', 3, /DOCTYPE/],
    ['<a>\n</a >\n</b>', 3, /no matching start tag/],
    [`${'<x>'.repeat(65)}${'</x>'.repeat(65)}`, 1, /nested more than 64 deep/],
    ['', 1, /no XML element/],
    ['<1a/>', 1, /expected an element name/],
  ])('refuses %j at line %i', (xml, line, message) => {
    const err = syntaxError(xml);
    expect(err.message).toMatch(message);
    expect(err.line).toBe(line);
  });

  it('does not expand entities declared anywhere, even "billion laughs" style input', () => {
    const bomb = '<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><l>&b;</l>';
    expect(syntaxError(bomb).message).toMatch(/DOCTYPE/);
    expect(syntaxError('<l>&b;</l>').message).toMatch(/"&b;" is not defined/);
  });
});
