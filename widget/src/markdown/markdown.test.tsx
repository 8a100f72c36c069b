import { h } from 'preact';
import { signal } from '@preact/signals';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Markdown, STEP, type MarkdownProps } from './markdown.js';
import { MAX_BLOCK_DEPTH } from './parse-blocks.js';
import { MAX_INLINE_DEPTH, parseInline } from './parse-inline.js';
import { plainText } from '../plain-text.js';

// The real inline parser, wrapped so the streaming tests can count which texts it parses.
vi.mock('./parse-inline.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('./parse-inline.js')>();
  return { ...real, parseInline: vi.fn(real.parseInline) };
});
const parses = vi.mocked(parseInline);

afterEach(() => {
  cleanup();
  parses.mockClear();
  vi.unstubAllGlobals();
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

/**
 * Animation frames run as a browser runs them, by the test: each callback the frame had when it
 * began, then the microtasks it queued (Preact renders in one), before the next callback; a
 * cancelled callback does not run. (`nextFrame` goes through `act`, which holds Preact's renders
 * until it ends, so two renders asked for in one frame would become one there, and not in a
 * browser.) Undone after the test.
 */
function browserFrames() {
  const callbacks = new Map<number, FrameRequestCallback>();
  let id = 0;
  vi.stubGlobal('requestAnimationFrame', (cb: FrameRequestCallback) => (callbacks.set(++id, cb), id));
  vi.stubGlobal('cancelAnimationFrame', (handle: number) => callbacks.delete(handle));
  const frame = async () => {
    for (const [handle, cb] of [...callbacks]) {
      if (!callbacks.delete(handle)) continue;
      cb(performance.now());
      for (let k = 0; k < 5; k++) await Promise.resolve();
    }
  };
  return Object.assign(frame, { pending: () => callbacks.size });
}

/** Renders a text longer than one frame shows (markdown.tsx's STEP), and waits for the frames that show the rest. */
async function showAll(markdown: string) {
  const shown = show(markdown);
  for (let n = 0; n < markdown.length / STEP; n++) await nextFrame();
  return shown;
}

describe('Markdown constructs', () => {
  it('renders paragraphs with emphasis, strong, strikethrough and inline code', () => {
    const { root } = show('One *em* and **strong** and ***both*** and ~~gone~~.\n\nTwo `a * b` and ``x ` y``.');
    expect(root.innerHTML).toBe(
      '<p>One <em>em</em> and <strong>strong</strong> and <em><strong>both</strong></em> and <del>gone</del>.</p>' +
        '<p>Two <code>a * b</code> and <code>x ` y</code>.</p>',
    );
  });

  it('leaves snake_case, lone stars and escaped markers as text', () => {
    const { root } = show('call snake_case_name with 2 * 3 * 4 and \\*not em\\* or **open');
    expect(root.innerHTML).toBe('<p>call snake_case_name with 2 * 3 * 4 and *not em* or **open</p>');
  });

  it('renders headings of every level, with text right after them', () => {
    const { root } = show('# One\n### Three\nText under it\n###### Six');
    expect(root.innerHTML).toBe('<h1>One</h1><h3>Three</h3><p>Text under it</p><h6>Six</h6>');
  });

  it('shows an ATX closing sequence as text (traded for bytes: a chat model does not write one)', () => {
    const { root } = show('## Title ##');
    expect(root.innerHTML).toBe('<h2>Title ##</h2>');
  });

  it('nests list items indented with tabs, and keeps the tabs inside code', () => {
    const { root } = show('- a\n\t- b\n\t\t- c\n\n1. one\n\t1. two\n\n```make\nall:\n\tcc x.c\n```');
    expect(root.innerHTML).toContain('<ul><li>a<ul><li>b<ul><li>c</li></ul></li></ul></li></ul><ol><li>one<ol><li>two</li></ol></li></ol>');
    expect(root.querySelector('pre code')!.textContent).toBe('all:\n\tcc x.c');
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
    expect(root.querySelector('.bar')!.textContent).toContain('html');
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
    expect(root.querySelector('.tbl')!.getAttribute('tabindex')).toBe('0');
  });

  it('does not make a table of a pipe line without a matching delimiter row', () => {
    const { root } = show('a | b\n|---|---|---|');
    expect(root.querySelector('table')).toBeNull();
  });

  it('renders blockquotes with blocks inside', () => {
    const { root } = show('> **Note**\n>\n> - one\n> - two');
    expect(root.innerHTML).toBe('<blockquote><p><strong>Note</strong></p><ul><li>one</li><li>two</li></ul></blockquote>');
  });

  it('nests emphasis written with spaces around it (the rule of 3 is traded for bytes: markdown-spec.test.tsx)', () => {
    const { root } = show('*a **b** c* and **a *b* c** and ***x** y*');
    expect(root.innerHTML).toBe('<p><em>a <strong>b</strong> c</em> and <strong>a <em>b</em> c</strong> and <em><strong>x</strong> y</em></p>');
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

  it('renders a reply like a real model writes it: one numbered list with its code, table and sub-steps inside', () => {
    const reply = [
      "Here's how to set it up:",
      '',
      '1. Install the package:',
      '',
      '   ```bash',
      '   npm install chatdrop',
      '   ```',
      '',
      '2. Add the script tag &mdash; it goes before `</body>`:',
      '',
      '   ```html',
      '   <script src="https://chat.example.com/widget.js" async></script>',
      '   ```',
      '',
      '3. Pick a plan:',
      '',
      '   | Plan | Price |',
      '   |------|------:|',
      '   | Free | $0 |',
      '   | Pro  | $9 &amp; up |',
      '',
      '4. **Note:**Reload the page &rarr; the bubble appears. If not:',
      '  - check the console',
      '  - clear the cache',
      '',
      'That is all.',
    ].join('\n');
    const { root } = show(reply);
    expect([...root.children].map((el) => el.tagName)).toEqual(['P', 'OL', 'P']);
    const items = [...root.querySelectorAll(':scope > ol > li')];
    expect(items.length).toBe(4);
    expect(items[0]!.querySelector('pre code')!.textContent).toBe('npm install chatdrop');
    expect(items[1]!.querySelector('p')!.textContent).toBe('Add the script tag — it goes before </body>:');
    expect(items[1]!.querySelector('pre code')!.textContent).toBe('<script src="https://chat.example.com/widget.js" async></script>');
    expect([...items[2]!.querySelectorAll('td')].map((td) => td.textContent)).toEqual(['Free', '$0', 'Pro', '$9 & up']);
    expect(items[3]!.querySelector('p > strong')!.textContent).toBe('Note:');
    expect(items[3]!.querySelector('p')!.textContent).toBe('Note:Reload the page → the bubble appears. If not:');
    expect([...items[3]!.querySelectorAll('ul > li')].map((li) => li.textContent)).toEqual(['check the console', 'clear the cache']);
    expect(root.querySelector('script')).toBeNull();
  });

  it('renders task list items as disabled checkboxes', () => {
    const { root } = show('- [x] done\n- [ ] to do');
    const boxes = [...root.querySelectorAll('input')] as HTMLInputElement[];
    expect(boxes.map((box) => [box.type, box.checked, box.disabled])).toEqual([
      ['checkbox', true, true],
      ['checkbox', false, true],
    ]);
    expect(root.textContent).toBe(' done to do');
  });

  it('links reference-style links, with their titles, and bare www and email addresses', () => {
    const { root } = show('See [the guide][g] and [FAQ], or www.example.com, or help@example.com.\n\n[g]: https://example.com/guide "The guide"\n[faq]: <https://example.com/faq>');
    expect([...root.querySelectorAll('a')].map((a) => [a.getAttribute('href'), a.getAttribute('title'), a.textContent])).toEqual([
      ['https://example.com/guide', 'The guide', 'the guide'],
      ['https://example.com/faq', null, 'FAQ'],
      ['http://www.example.com/', null, 'www.example.com'],
      ['mailto:help@example.com', null, 'help@example.com'],
    ]);
  });

  it('decodes named and numeric entities, and leaves unknown ones as written', () => {
    const { root } = show('&lt;div&gt; &amp; &nbsp;&copy; &#169; &#x1F600; &madeup; `&lt;kept&gt;`');
    expect(root.textContent).toBe('<div> & \u00a0© © 😀 &madeup; &lt;kept&gt;');
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
  '[x][r]\n\n[r]: javascript:alert(1)',
  '[x]\n\n[x]: <javascript:alert(1)> "t"',
  '[x]\n\n[x]: &#106;avascript:alert(1)',
  '[x](https://ok.test "a\\" onmouseover=\\"alert(1)")',
  '- [x] <img src=x onerror=alert(1)>\n- [ ] [y](javascript:alert(1))',
  '&lt;script&gt;alert(1)&lt;/script&gt; &#60;img src=x onerror=alert(1)&#62;',
  'www.example.com/"onmouseover="alert(1) and javascript:alert(1)@x.test',
  '```\" onload=\"alert(1)\n<script>\n```',
];

describe('Markdown safety', () => {
  it.each(XSS)('renders %j without script, handlers or a disallowed href', (markdown) => {
    const { root } = show(markdown);
    for (const el of root.querySelectorAll('*')) {
      expect(['SCRIPT', 'IMG', 'SVG', 'IFRAME', 'STYLE', 'OBJECT', 'EMBED', 'FORM', 'X']).not.toContain(el.tagName);
      // The one form control: a task list item's box, which can be neither typed in nor sent.
      if (el.tagName === 'INPUT') expect([(el as HTMLInputElement).type, (el as HTMLInputElement).disabled, el.getAttribute('name')]).toEqual(['checkbox', true, null]);
      for (const attr of el.attributes) expect(attr.name).not.toMatch(/^on/i);
      const href = el.getAttribute('href');
      if (href !== null) expect(href).toMatch(/^(https?:\/\/|mailto:)/);
      if (el.tagName === 'A') expect(el.getAttribute('rel')).toBe('noopener noreferrer');
    }
  });

  it('renders quotes nested too deep for the stack to the depth limit, the rest as text', async () => {
    const { root } = await showAll('Before\n\n' + '> '.repeat(2000) + 'x\n\nAfter');
    expect(root.firstElementChild!.textContent).toBe('Before');
    expect(root.lastElementChild!.textContent).toBe('After');
    expect(root.querySelectorAll('blockquote').length).toBe(MAX_BLOCK_DEPTH);
    expect(root.querySelector('blockquote '.repeat(MAX_BLOCK_DEPTH) + '> p')!.textContent).toBe('> '.repeat(2000 - MAX_BLOCK_DEPTH).trim() + ' x');
  });

  it('renders lists nested too deep for the stack to the depth limit, the rest as text', async () => {
    const deep = Array.from({ length: 300 }, (_, n) => ' '.repeat(2 * n) + '- x' + n).join('\n');
    const { root } = await showAll('Before\n\n' + deep + '\n\nAfter');
    expect(root.lastElementChild!.textContent).toBe('After');
    expect(root.querySelectorAll('li').length).toBe(MAX_BLOCK_DEPTH);
    // Past the limit the deeper lines are text inside the deepest item; none is lost.
    expect(root.children[1]!.textContent!.match(/x\d+/g)).toEqual(Array.from({ length: 300 }, (_, n) => 'x' + n));
  });

  it('renders emphasis nested too deep for the stack to the depth limit, the rest unmarked', async () => {
    const marks = ['**', '_', '~~', '*', '__', '~'];
    const runs = Array.from({ length: 3000 }, (_, n) => marks[n % 6]!);
    const { root } = await showAll('Before\n\n' + runs.map((m) => m + 'a ').join('') + 'x' + runs.reverse().map((m) => ' b' + m).join('') + '\n\nAfter');
    const p = root.children[1]!;
    let depth = 0;
    for (let el = p.firstElementChild; el; el = el.lastElementChild) depth++;
    expect(depth).toBe(MAX_INLINE_DEPTH);
    expect(p.textContent).toBe('a '.repeat(3000) + 'x' + ' b'.repeat(3000));
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
    const finished = Array.from({ length: 50 }, (_, n) => `Paragraph ${n} with **some** text.`).join('\n\n');
    const { source, root } = await showAll(finished + '\n\nThe last');
    // Each paragraph once, and each one that a frame's text cut in two once more.
    expect(parses.mock.calls.length).toBeGreaterThanOrEqual(51);
    expect(parses.mock.calls.length).toBeLessThanOrEqual(51 + Math.ceil((finished.length + 10) / STEP) - 1);
    parses.mockClear();
    for (const delta of [' one', ' grows', ' word', ' by word.']) {
      source.value += delta;
      await nextFrame();
    }
    expect(parses).toHaveBeenCalledTimes(4);
    expect(parses.mock.calls.map(([text]) => text)).toEqual(['The last one', 'The last one grows', 'The last one grows word', 'The last one grows word by word.']);
    expect(root.lastElementChild!.textContent).toBe('The last one grows word by word.');
    expect(root.children.length).toBe(51);
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

  it('makes a tight list loose when a later item follows a blank line, re-parsing each item once', async () => {
    const { source, root } = show('1. alpha\n2. beta\n3. gamma');
    expect(root.querySelectorAll('li > p').length).toBe(0);
    parses.mockClear();
    source.value += '\n\n4. delta';
    await nextFrame();
    expect(root.querySelectorAll('ol').length).toBe(1);
    expect([...root.querySelectorAll('li > p')].map((p) => p.textContent)).toEqual(['alpha', 'beta', 'gamma', 'delta']);
    expect(parses.mock.calls.map(([text]) => text).sort()).toEqual(['alpha', 'beta', 'delta', 'gamma']);
    parses.mockClear();
    for (const delta of [' and', ' more']) {
      source.value += delta;
      await nextFrame();
    }
    expect(parses.mock.calls.map(([text]) => text)).toEqual(['delta and', 'delta and more']);
  });

  it('links earlier text when its reference definition arrives later in the reply', async () => {
    const { source, root } = show('Read [the guide].\n\nMore text.\n\n[the guide]: https://exa');
    source.value += 'mple.com/guide';
    await nextFrame();
    expect(root.querySelector('a')!.getAttribute('href')).toBe('https://example.com/guide');
    expect(root.querySelector('p')!.textContent).toBe('Read the guide.');
    expect(root.children.length).toBe(2);
  });

  it('shows a long answer that arrived at once over a few frames, parsing each paragraph once more at most', async () => {
    const answer = Array.from({ length: 1000 }, (_, n) => `Paragraph ${n} with **some** text.`).join('\n\n');
    const { root } = show(answer);
    const frames = [root.children.length];
    while (frames.at(-1)! < 1000) {
      await nextFrame();
      frames.push(root.children.length);
    }
    // About 35,000 characters, at most STEP new ones a frame.
    expect(frames.length).toBeGreaterThanOrEqual(Math.ceil(answer.length / STEP));
    expect(Math.max(...frames.slice(1).map((n, k) => n - frames[k]!))).toBeLessThanOrEqual(STEP / 30);
    expect(parses.mock.calls.length).toBeLessThanOrEqual(1000 + frames.length);
    expect(root.lastElementChild!.textContent).toBe('Paragraph 999 with some text.');
  });

  it('shows a burst at most STEP characters a frame while more of the reply keeps arriving', async () => {
    // A new delta asks for a frame and so does the text still waiting: it must still be one
    // render a frame, or a frame shows twice STEP (and takes twice as long).
    const frame = browserFrames();
    const answer = Array.from({ length: 1000 }, (_, n) => `Paragraph ${n} with **some** text.`).join('\n\n');
    const { source, root } = show(answer);
    const shown = [root.children.length];
    for (let n = 0; shown.at(-1)! < 1000 && n < 200; n++) {
      source.value += ` more${n}`;
      await frame();
      shown.push(root.children.length);
    }
    expect(Math.max(...shown.slice(1).map((n, k) => n - shown[k]!))).toBeLessThanOrEqual(STEP / 30);
    expect(shown.length).toBeGreaterThanOrEqual(Math.ceil(answer.length / STEP));
    await frame();
    expect(root.lastElementChild!.textContent).toBe(`Paragraph 999 with some text.${shown.slice(1).map((_, n) => ` more${n}`).join('')}`);
    await frame();
    expect(frame.pending()).toBe(0);
  });

  it('shows the last delta of a short reply whose spoken text was read before the log showed it', async () => {
    // The spoken text waits a frame or so for the log, then reads the reply itself: the log must
    // still show the rest (it once took that reading for its own and stopped at 'Her').
    const frame = browserFrames();
    const { source, root } = show('Her');
    await frame();
    const heard = plainText('Here it is.');
    source.value = 'Here it is.';
    await frame();
    expect(await heard).toBe('Here it is.');
    await frame();
    expect(root.textContent).toBe('Here it is.');
  });

  it('gives what a screen reader hears of a finished reply from the renderer that showed it, parsing only what it had not', async () => {
    const finished = Array.from({ length: 40 }, (_, n) => `Paragraph ${n} with **some** text.`).join('\n\n');
    const { source, root } = await showAll(finished + '\n\nThe last');
    parses.mockClear();
    source.value += ' words.';
    expect(await plainText(source.value)).toBe([...Array.from({ length: 40 }, (_, n) => `Paragraph ${n} with some text.`), 'The last words.'].join('\n'));
    expect(parses.mock.calls.map(([text]) => text)).toEqual(['The last words.']);
    await nextFrame();
    expect(root.lastElementChild!.textContent).toBe('The last words.');
    expect(parses.mock.calls.length).toBe(1);
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

  it('parses a long paragraph that came at once again only when what shows of it has doubled, and shows it whole at the end', async () => {
    const words = Array.from({ length: 2500 }, (_, n) => `word${n} *a* `).join('');
    const { root } = show(words);
    for (let n = 0; n < words.length / STEP; n++) await nextFrame();
    // 32,000 characters, STEP more a frame: parsed on each frame up to 4,000 characters, then at
    // 8k and 16k as the burst shows, and whole at its end (a parse a frame would be 32,000 / STEP
    // parses, over 500,000 characters).
    const parsed = parses.mock.calls.map(([text]) => text.length);
    expect(parsed.length).toBeLessThanOrEqual(Math.ceil(4000 / STEP) + 3);
    expect(parsed.reduce((a, b) => a + b)).toBeLessThan(3 * words.length);
    expect(parsed.at(-1)).toBe(words.trim().length);
    expect(root.querySelectorAll('em').length).toBe(2500);
  });

  it.each(['> ', '- '])('shows a long paragraph inside %s whole once the burst that closed it is shown', async (marker) => {
    const long = Array.from({ length: 700 }, (_, n) => `word${n}`).join(' ');
    const after = Array.from({ length: 100 }, (_, n) => `Short ${n}.`);
    const { root } = await showAll(`${marker}${long}\n\n${after.join('\n\n')}`);
    await nextFrame();
    expect(root.firstElementChild!.textContent!.trim()).toBe(long);
    expect(root.lastElementChild!.textContent).toBe('Short 99.');
  });

  it('parses a long paragraph streamed a few words a frame on every frame (no burst, nothing held back)', async () => {
    const words = Array.from({ length: 500 }, (_, n) => `word${n} `).join('');
    const { source, root } = show(words.slice(0, 4000));
    for (let at = 4000; at < words.length; at += 50) {
      source.value = words.slice(0, at + 50);
      await nextFrame();
      expect(root.textContent).toBe(source.value.trim());
    }
  });

  it('announces a long reply that came at once when the log has shown it, a frame of text at a time', async () => {
    const answer = Array.from({ length: 600 }, (_, n) => `Paragraph ${n} with **some** text.`).join('\n\n');
    const { source, root } = show('');
    source.value = answer;
    const heard = plainText(answer);
    let frames = 0;
    let done = false;
    void heard.then(() => (done = true));
    while (!done) {
      parses.mockClear();
      await nextFrame();
      frames++;
      // STEP new characters a frame: a paragraph parsed for each 35 of them.
      expect(parses.mock.calls.length).toBeLessThanOrEqual(Math.ceil(STEP / 34) + 1);
    }
    expect(frames).toBeGreaterThanOrEqual(answer.length / STEP);
    expect(await heard).toBe(Array.from({ length: 600 }, (_, n) => `Paragraph ${n} with some text.`).join('\n'));
    expect(root.children.length).toBe(600);
  });

  it('announces a long reply no log shows, all at once', async () => {
    const answer = Array.from({ length: 300 }, (_, n) => `Step ${n}: *done*.`).join('\n\n');
    parses.mockClear();
    expect(await plainText(answer)).toBe(Array.from({ length: 300 }, (_, n) => `Step ${n}: done.`).join('\n'));
    expect(parses.mock.calls.length).toBe(300);
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
