import { buildSnippet, readOptions, snippetAttributes, type SnippetOptions } from './snippet.js';

/**
 * The demo page's script (no inline scripts: the server sends a strict CSP). Wires the snippet
 * builder: every change re-embeds the live widget with the chosen options and shows the tag to
 * paste; also filters the help articles from the search box, as a real help centre would.
 */
declare global {
  interface Window {
    Chatdrop?: { destroy(): void };
  }
}

const form = document.querySelector<HTMLFormElement>('#builder')!;
const output = document.querySelector<HTMLElement>('#snippet')!;
const copyButton = document.querySelector<HTMLButtonElement>('#copy-snippet')!;
const copyStatus = document.querySelector<HTMLElement>('#copy-status')!;

function currentOptions(): SnippetOptions {
  const data = new FormData(form);
  const value = (name: string) => {
    const v = data.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  return readOptions({
    color: value('color'),
    position: value('position'),
    title: value('title'),
    greeting: value('greeting'),
    starters: value('starters'),
    lang: value('lang'),
    theme: value('theme'),
  });
}

/**
 * Replaces the live widget: `Chatdrop.destroy()` removes its element, listeners and global, then
 * a fresh script tag (the same one a site would paste) loads it again with the new attributes.
 */
function embed(options: SnippetOptions): void {
  window.Chatdrop?.destroy();
  document.querySelector('script[data-chatdrop-demo], script[src$="/widget.js"]')?.remove();
  const script = document.createElement('script');
  script.src = '/widget.js';
  script.async = true;
  script.dataset.chatdropDemo = '';
  for (const [name, value] of snippetAttributes(options)) script.setAttribute(name, value);
  document.body.append(script);
}

function showSnippet(options: SnippetOptions): void {
  output.textContent = buildSnippet(location.origin, options);
  copyStatus.textContent = '';
}

// Text fields update the tag as you type and the widget when you leave the field (or press
// Enter); reloading the widget on every keystroke would only flicker.
form.addEventListener('input', () => showSnippet(currentOptions()));
form.addEventListener('change', () => embed(currentOptions()));
form.addEventListener('submit', (event) => {
  event.preventDefault();
  embed(currentOptions());
});
form.addEventListener('reset', () => {
  // The form's fields are reset after this event; read them once they are.
  setTimeout(() => {
    showSnippet(currentOptions());
    embed(currentOptions());
  });
});

copyButton.addEventListener('click', () => {
  const text = output.textContent ?? '';
  const done = (message: string) => (copyStatus.textContent = message);
  if (!navigator.clipboard) {
    done('Select the tag and copy it (the clipboard needs https or localhost).');
    return;
  }
  navigator.clipboard.writeText(text).then(
    () => done('Copied to the clipboard.'),
    () => done('Could not copy; select the tag and copy it.'),
  );
});

showSnippet(currentOptions());

// The search box filters the articles on this page.
const search = document.querySelector<HTMLInputElement>('#search')!;
const searchStatus = document.querySelector<HTMLElement>('#search-status')!;
const articles = [...document.querySelectorAll<HTMLElement>('[data-article]')];
document.querySelector('#search-form')!.addEventListener('submit', (event) => event.preventDefault());
search.addEventListener('input', () => {
  const query = search.value.trim().toLowerCase();
  let shown = 0;
  for (const article of articles) {
    const match = !query || (article.textContent ?? '').toLowerCase().includes(query);
    article.hidden = !match;
    if (match) shown++;
  }
  searchStatus.textContent = query ? `${shown} ${shown === 1 ? 'article matches' : 'articles match'} “${search.value.trim()}”.` : '';
});
