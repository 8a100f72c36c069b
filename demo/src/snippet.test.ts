import { describe, expect, it } from 'vitest';
import { buildSnippet, DEFAULT_OPTIONS, escapeAttribute, readOptions, snippetAttributes } from './snippet.js';

describe('snippet builder', () => {
  it('builds the contract embed tag with the page origin and every chosen option', () => {
    const options = readOptions({ color: '#1D4ED8', position: 'left', title: 'Help', greeting: 'Hi there!', lang: 'ar', theme: 'dark' });
    expect(buildSnippet('https://chat.example.com', options)).toBe(
      '<script src="https://chat.example.com/widget.js" async\n' +
        '        data-title="Help"\n' +
        '        data-color="#1d4ed8"\n' +
        '        data-position="left"\n' +
        '        data-theme="dark"\n' +
        '        data-lang="ar"\n' +
        '        data-greeting="Hi there!"></script>',
    );
  });

  it('leaves out an empty greeting so the server greeting applies', () => {
    const names = snippetAttributes(readOptions({ greeting: '   ' })).map(([name]) => name);
    expect(names).toEqual(['data-title', 'data-color', 'data-position', 'data-theme', 'data-lang']);
  });

  it('adds starter questions as data-starters, tidied, and leaves out an empty list', () => {
    expect(snippetAttributes(readOptions({ starters: ' Where is my invoice? ||  Change plan |' })).at(-1)).toEqual(['data-starters', 'Where is my invoice?|Change plan']);
    expect(snippetAttributes(readOptions({ starters: ' | ' })).map(([name]) => name)).not.toContain('data-starters');
  });

  it('escapes attribute values so a hostile title cannot break out of the tag', () => {
    const tag = buildSnippet('http://localhost:8787', readOptions({ title: '"><script>alert(1)</script>', greeting: 'Tom & "Jerry" <3' }));
    expect(tag).toContain('data-title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(tag).toContain('data-greeting="Tom &amp; &quot;Jerry&quot; &lt;3"');
    expect(tag.match(/<script/g)).toHaveLength(1);
    expect(escapeAttribute('a&b"c<d>e')).toBe('a&amp;b&quot;c&lt;d&gt;e');
  });

  it('falls back to the defaults for values outside the allowed sets', () => {
    expect(readOptions({ color: 'red; background:url(x)', position: 'top', lang: 'xx', theme: 'neon', title: '  ' })).toEqual(DEFAULT_OPTIONS);
  });

  it('trims text and caps its length', () => {
    const options = readOptions({ title: `  ${'x'.repeat(500)}  `, greeting: ' Hello ' });
    expect(options.title).toHaveLength(200);
    expect(options.greeting).toBe('Hello');
  });
});
