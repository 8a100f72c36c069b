import { h } from 'preact';
import { signal } from '@preact/signals';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Markdown, type MarkdownProps } from './markdown.js';
import { parseBlock } from './parse-blocks.js';

// The real block parser, wrapped so the streaming tests can count how often it runs.
vi.mock('./parse-blocks.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('./parse-blocks.js')>();
  return { ...real, parseBlock: vi.fn(real.parseBlock) };
});
const parses = vi.mocked(parseBlock);

afterEach(() => {
  cleanup();
  parses.mockClear();
});

function show(markdown: string, props: Pick<MarkdownProps, 'labels'> = {}) {
  const source = signal(markdown);
  const { container } = render(<Markdown source={source} {...props} />);
  return { source, root: container.firstElementChild as HTMLElement };
}

/** Lets the pending animation frame run and Preact commit what it rendered. */
async function nextFrame() {
  await act(() => new Promise<void>((resolve) => requestAnimationFrame(() => resolve())));
}

describe('Markdown constructs', () => {
  it('renders paragraphs with emphasis, strong, strikethrough and inline code', () => {
    const { root } = show('One *em* and **strong** and ***both*** and ~~gone~~.\n\nTwo `a * b` and ``x ` y``.');
    expect(root.innerHTML).toBe(
      '<p>One <em>em</em> and <strong>strong</strong> and <strong><em>both</em></strong> and <del>gone</del>.</p>' +
        '<p>Two <code>a * b</code> and <code>x ` y</code>.</p>',
    );
  });

  it('leaves snake_case, lone stars and escaped markers as text', () => {
    const { root } = show('call snake_case_name with 2 * 3 * 4 and \\*not em\\* or **open');
    expect(root.innerHTML).toBe('<p>call snake_case_name with 2 * 3 * 4 and *not em* or **open</p>');
  });

  it('renders headings of every level, with text right after them', () => {
    const { root } = show('# One\n### Three ###\nText under it\n###### Six');
    expect(root.innerHTML).toBe('<h1>One</h1><h3>Three</h3><p>Text under it</p><h6>Six</h6>');
  });

  it('renders unordered, ordered and nested lists', () => {
    const { root } = show('Steps:\n1. First\n2. Second\n   - a\n   - b **bold**\n3. Third\n\n* x\n* y\n\n4) four\n5) five');
    expect(root.innerHTML).toBe(
      '<p>Steps:</p><ol><li>First</li><li>Second<ul><li>a</li><li>b <strong>bold</strong></li></ul></li><li>Third</li></ol>' +
        '<ul><li>x</li><li>y</li></ul><ol start="4"><li>four</li><li>five</li></ol>',
    );
  });

  it('nests strong inside emphasis and back', () => {
    const { root } = show('*a **b** c* and **d *e* f** and __init__ and ~one~');
    expect(root.innerHTML).toBe('<p><em>a <strong>b</strong> c</em> and <strong>d <em>e</em> f</strong> and <strong>init</strong> and <del>one</del></p>');
  });

  it('keeps a fenced code block with a blank line inside its list item', () => {
    const { root } = show('- step\n  ```sh\n  a\n\n  b\n  ```\n- next');
    expect(root.querySelectorAll('li').length).toBe(2);
    expect(root.querySelector('li pre code')!.textContent).toBe('a\n\nb');
    expect(root.querySelector('li:last-child')!.textContent).toBe('next');
  });

  it('continues a list item on its lazy next line', () => {
    const { root } = show('- item that\n  wraps\nlazily');
    expect(root.innerHTML).toBe('<ul><li>item that\nwraps\nlazily</li></ul>');
  });

  it('renders links that open in a new tab without an opener', () => {
    const { root } = show('See [the docs](https://example.com/a_(b) "Title") or <https://x.test/y> or https://bare.test/path. Mail <help@acme.test>.');
    const links = [...root.querySelectorAll('a')];
    expect(links.map((a) => [a.getAttribute('href'), a.textContent])).toEqual([
      ['https://example.com/a_(b)', 'the docs'],
      ['https://x.test/y', 'https://x.test/y'],
      ['https://bare.test/path', 'https://bare.test/path'],
      ['mailto:help@acme.test', 'help@acme.test'],
    ]);
    for (const a of links) {
      expect(a.getAttribute('target')).toBe('_blank');
      expect(a.getAttribute('rel')).toBe('noopener noreferrer');
    }
    expect(root.textContent).toContain('https://bare.test/path. Mail');
  });

  it('ends a bare URL before a closing parenthesis or full stop', () => {
    const { root } = show('Docs (https://x.test/a) and https://x.test/b.');
    expect([...root.querySelectorAll('a')].map((a) => a.getAttribute('href'))).toEqual(['https://x.test/a', 'https://x.test/b']);
    expect(root.textContent).toBe('Docs (https://x.test/a) and https://x.test/b.');
  });

  it('renders a fenced code block as text with its language and a Copy button that copies it', async () => {
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const { root } = show('```html\n<b>not bold</b>\n\n  indented\n```\nafter');
    expect(root.querySelector('pre code')!.textContent).toBe('<b>not bold</b>\n\n  indented');
    expect(root.querySelector('b')).toBeNull();
    expect(root.querySelector('.cd-md-code-bar')!.textContent).toContain('html');
    expect(root.querySelector('p')!.textContent).toBe('after');
    fireEvent.click(screen.getByRole('button', { name: 'Copy' }));
    expect(writeText).toHaveBeenCalledWith('<b>not bold</b>\n\n  indented');
    expect(await screen.findByRole('button', { name: 'Copied' })).toBeTruthy();
  });

  it('labels the Copy button from props', () => {
    show('```\nx\n```', { labels: { copy: 'Copiar', copied: 'Copiado' } });
    expect(screen.getByRole('button', { name: 'Copiar' })).toBeTruthy();
  });

  it('renders an unterminated fence as a code block so far', () => {
    const { root } = show('Look:\n~~~\nline 1\n\nline 2');
    expect(root.querySelector('pre code')!.textContent).toBe('line 1\n\nline 2');
  });

  it('treats backticks with a backtick in the rest of the line as inline code, not a fence', () => {
    const { root } = show('```a``` b');
    expect(root.innerHTML).toBe('<p><code>a</code> b</p>');
  });

  it('renders GFM tables with alignment and escaped pipes, and a paragraph before them', () => {
    const { root } = show('Compare:\n| Plan | Price | Notes |\n|:-----|------:|:-----:|\n| Free | $0 | `a \\| b` |\n| Pro | $9 |');
    expect(root.querySelector('p')!.textContent).toBe('Compare:');
    const rows = [...root.querySelectorAll('tr')].map((tr) => [...tr.children].map((c) => `${c.tagName}:${c.getAttribute('align') ?? ''}:${c.textContent}`));
    expect(rows).toEqual([
      ['TH:left:Plan', 'TH:right:Price', 'TH:center:Notes'],
      ['TD:left:Free', 'TD:right:$0', 'TD:center:a | b'],
      ['TD:left:Pro', 'TD:right:$9', 'TD:center:'],
    ]);
    expect(root.querySelector('.cd-md-table')!.getAttribute('tabindex')).toBe('0');
  });

  it('does not make a table of a pipe line without a matching delimiter row', () => {
    const { root } = show('a | b\n|---|---|---|');
    expect(root.querySelector('table')).toBeNull();
  });

  it('renders blockquotes with blocks inside', () => {
    const { root } = show('> **Note**\n>\n> - one\n> - two');
    expect(root.innerHTML).toBe('<blockquote><p><strong>Note</strong></p><ul><li>one</li><li>two</li></ul></blockquote>');
  });

  it('renders horizontal rules', () => {
    const { root } = show('above\n\n---\n\n* * *\nbelow');
    expect(root.innerHTML).toBe('<p>above</p><hr><hr><p>below</p>');
  });

  it('renders hard line breaks and keeps soft ones as newlines', () => {
    const { root } = show('one  \ntwo\\\nthree\nfour');
    expect(root.innerHTML).toBe('<p>one<br>two<br>three\nfour</p>');
  });

  it('renders raw HTML as literal text', () => {
    const { root } = show('<b>bold?</b> <script>alert(1)</script>');
    expect(root.children.length).toBe(1);
    expect(root.firstElementChild!.children.length).toBe(0);
    expect(root.textContent).toBe('<b>bold?</b> <script>alert(1)</script>');
  });

  it('renders images as their alt text', () => {
    const { root } = show('![a diagram](https://x.test/d.png) here');
    expect(root.innerHTML).toBe('<p>a diagram here</p>');
  });
});

/**
 * Model output is untrusted: a prompt injection can make the model write anything. None of this
 * may produce an event-handler attribute, a script or other active element, or a link outside
 * http, https and mailto.
 */
const XSS = [
  '[x](javascript:alert(1))',
  '[x](JavaScript:alert(1))',
  '[x]( javascript:alert(1) )',
  '[x](<javascript:alert(1)>)',
  '[x](java\tscript:alert(1))',
  '[x](java\nscript:alert(1))',
  '[x](\u0001javascript:alert(1))',
  '[x](&#106;avascript:alert(1))',
  '[x](&#x6A;avascript:alert(1))',
  '[x](javascript&colon;alert(1))',
  '[x](jav&#x09;ascript:alert(1))',
  '[x](\\javascript:alert(1))',
  '[x](vbscript:msgbox(1))',
  '[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '[x](DATA:text/html,<script>alert(1)</script>)',
  '[x](file:///etc/passwd)',
  '[x](//evil.test/)',
  '[x](/relative)',
  '[x](https://ok.test/" onmouseover="alert(1))',
  '[x](https://ok.test/"onmouseover="alert(1)")',
  '[[x](javascript:alert(1))](https://ok.test)',
  '[a [b [c](javascript:alert(1))]](javascript:alert(2))',
  '![x](javascript:alert(1))',
  '![x" onerror="alert(1)](https://ok.test/i.png)',
  '<javascript:alert(1)>',
  '<JAVASCRIPT:alert(1)>',
  '<vbscript:msgbox(1)>',
  '<data:text/html,alert(1)>',
  '<a href="javascript:alert(1)">x</a>',
  '<a href="https://ok.test" onclick="alert(1)">x</a>',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '<svg onload=alert(1)>',
  '<iframe src="javascript:alert(1)"></iframe>',
  '<style>*{display:none}</style>',
  '<x onclick=alert(1)>hi</x>',
  'javascript:alert(1)',
  'https://ok.test/"><script>alert(1)</script>',
  '`<script>alert(1)</script>`',
  '```html\n<script>alert(1)</script>\n```',
  '| <img src=x onerror=alert(1)> | [x](javascript:alert(1)) |\n|---|---|\n| <script> | ok |',
  '> <img src=x onerror=alert(1)>\n> [x](javascript:alert(1))',
  '- [x](javascript:alert(1))\n  - <svg/onload=alert(1)>',
  '**[x](javascript:alert(1))**',
  '[x](https://ok.test/ "<script>alert(1)</script>")',
  '<mailto:a@b.test?body=<script>>',
];

describe('Markdown safety', () => {
  it.each(XSS)('renders %j without script, handlers or a disallowed href', (markdown) => {
    const { root } = show(markdown);
    for (const el of root.querySelectorAll('*')) {
      expect(['SCRIPT', 'IMG', 'SVG', 'IFRAME', 'STYLE', 'OBJECT', 'EMBED', 'FORM', 'INPUT', 'X']).not.toContain(el.tagName);
      for (const attr of el.attributes) expect(attr.name).not.toMatch(/^on/i);
      const href = el.getAttribute('href');
      if (href !== null) expect(href).toMatch(/^(https?:\/\/|mailto:)/);
      if (el.tagName === 'A') expect(el.getAttribute('rel')).toBe('noopener noreferrer');
    }
  });

  it.each([
    ['quotes', '> '.repeat(2000) + 'x', 20],
    ['lists', Array.from({ length: 2000 }, (_, n) => ' '.repeat(2 * n) + '- x').join('\n'), 20],
    ['emphasis', Array.from({ length: 3000 }, (_, n) => ['*', '**', '_', '__', '~', '~~'][n % 6] + 'a ').join('') + 'x', 0],
  ])('renders %s nested too deep for the stack without failing, as text past a depth', (_, deep, least) => {
    const { root } = show('Before\n\n' + deep + '\n\nAfter');
    expect(root.firstElementChild!.textContent).toBe('Before');
    expect(root.lastElementChild!.textContent).toBe('After');
    let depth = 0;
    for (let el: Element | null = root.children[1]!; el; el = el.lastElementChild) depth++;
    expect(depth).toBeGreaterThanOrEqual(least);
    expect(depth).toBeLessThan(100);
  });

  it('renders a rejected link as its text', () => {
    const { root } = show('Click [here](javascript:alert(1)) now');
    expect(root.innerHTML).toBe('<p>Click here now</p>');
  });

  it('sends an allowed link to exactly the URL it checked', () => {
    const { root } = show('[x]( HTTPS://Example.COM/a b ) [y](HTTPS://Example.COM/a%20b)');
    expect([...root.querySelectorAll('a')].map((a) => a.getAttribute('href'))).toEqual(['https://example.com/a%20b']);
  });
});

describe('Markdown streaming', () => {
  it('re-parses only the block being written, whatever the length of the answer', async () => {
    const finished = Array.from({ length: 200 }, (_, n) => `Paragraph ${n} with **some** text.`).join('\n\n');
    const { source, root } = show(finished + '\n\nThe last');
    expect(parses).toHaveBeenCalledTimes(201);
    parses.mockClear();
    for (const delta of [' one', ' grows', ' word', ' by word.']) {
      source.value += delta;
      await nextFrame();
    }
    expect(parses).toHaveBeenCalledTimes(4);
    expect(parses.mock.calls.map(([text]) => text)).toEqual(['The last one', 'The last one grows', 'The last one grows word', 'The last one grows word by word.']);
    expect(root.lastElementChild!.textContent).toBe('The last one grows word by word.');
    expect(root.children.length).toBe(201);
  });

  it('keeps the DOM of finished blocks when deltas arrive', async () => {
    const { source, root } = show('# Title\n\nFirst para');
    const heading = root.querySelector('h1');
    const first = root.querySelector('p');
    source.value += 'graph.';
    await nextFrame();
    expect(root.querySelector('p')).toBe(first);
    source.value += '\n\n- an item';
    await nextFrame();
    source.value += '\n- another';
    await nextFrame();
    expect(root.querySelector('h1')).toBe(heading);
    expect(root.querySelector('p')).toBe(first);
    expect(first!.textContent).toBe('First paragraph.');
    expect(root.querySelectorAll('li').length).toBe(2);
  });

  it('does not parse a block again when it closes', async () => {
    const { source } = show('Alpha');
    source.value += ' beta';
    await nextFrame();
    parses.mockClear();
    source.value += '\n\n';
    await nextFrame();
    source.value += 'Gamma';
    await nextFrame();
    expect(parses.mock.calls.map(([text]) => text)).toEqual(['Gamma']);
  });

  it('does not parse a block again when its closing blank line arrives a newline at a time', async () => {
    const { source } = show('Alpha');
    parses.mockClear();
    for (const delta of ['\n', '\n', 'Beta']) {
      source.value += delta;
      await nextFrame();
    }
    expect(parses.mock.calls.map(([text]) => text)).toEqual(['Beta']);
  });

  it('coalesces the deltas of one frame into one render', async () => {
    const { source, root } = show('');
    for (const delta of ['Hel', 'lo', ', ', 'world']) source.value += delta;
    expect(root.textContent).toBe('');
    await nextFrame();
    expect(root.textContent).toBe('Hello, world');
    expect(parses).toHaveBeenCalledTimes(1);
  });

  it('grows a code block while its fence is open, then closes it', async () => {
    const { source, root } = show('```ts\nconst a = 1;');
    const pre = root.querySelector('pre');
    source.value += '\n\nconst b = 2;';
    await nextFrame();
    expect(root.querySelector('pre')).toBe(pre);
    expect(pre!.textContent).toBe('const a = 1;\n\nconst b = 2;');
    source.value += '\n```\n\nDone.';
    await nextFrame();
    expect(root.querySelector('pre')).toBe(pre);
    expect(root.lastElementChild!.textContent).toBe('Done.');
  });

  it('renders a new text from scratch when the source is replaced', async () => {
    const { source, root } = show('Old answer\n\nwith two blocks');
    source.value = 'New';
    await nextFrame();
    expect(root.innerHTML).toBe('<p>New</p>');
  });

  it('stops rendering after unmount', async () => {
    const source = signal('a');
    const view = render(<Markdown source={source} />);
    act(() => {
      view.unmount();
    });
    parses.mockClear();
    source.value += 'b';
    await nextFrame();
    expect(parses).not.toHaveBeenCalled();
  });
});
