import { render } from '@testing-library/preact';
import { signal } from '@preact/signals';
import { it } from 'vitest';
import { Markdown } from './markdown.js';
it('smoke', async () => {
  const s = signal('# Hi\n\nSome **bold** and *em* and `code` [x](https://a.b) <b>raw</b>\n\n- a\n  - b\n- c\n\n| a | b |\n|:-|-:|\n| 1 | 2 |\n\n```js\nlet x\n```\n> quote\n> - q\n\n---\n1. one\n2. two');
  const { container } = render(<Markdown source={s} />);
  console.log(container.innerHTML);
  s.value += '\n\nmore';
  await new Promise(r => requestAnimationFrame(r));
  await new Promise(r => setTimeout(r, 10));
  console.log(container.innerHTML.slice(-100));
});
