import { SHAPES } from '../widget/src/markdown/adversarial.ts';

/**
 * A markdown answer cut into `count` token-sized pieces (a word and its trailing space or
 * newline, as a model streams them), ending with `END` so a reader knows it has everything.
 * It cycles through what the widget's markdown renders: headings, paragraphs with bold, code
 * and links, list items and fenced code blocks, so markup opens and closes across chunks.
 */
export function markdownTokens(count: number): string[] {
  const tokens: string[] = [];
  for (let block = 0; tokens.length < count - 1; block++) {
    for (const piece of blockText(block).match(/\S+\s*/g) ?? []) tokens.push(piece);
  }
  tokens.length = count - 1;
  tokens.push('END');
  return tokens;
}

function blockText(n: number): string {
  switch (n % 4) {
    case 0:
      return `## Step ${n} of the setup\n\n`;
    case 1:
      return `Open the **settings** page and copy the \`api-key-${n}\` value, then read [the guide](https://example.com/docs/${n}) before you paste it into the form below.\n\n`;
    case 2:
      return `- first item ${n}\n- second item with *emphasis*\n- third item\n\n`;
    default:
      return `\`\`\`js\nconst step = ${n};\nconsole.log(step * 2);\n\`\`\`\n\n`;
  }
}

/**
 * A reply built to make a markdown parser rescan while it streams, `count` tokens of 4 characters
 * (the last is `END`): one long paragraph of unclosed emphasis (re-parsed while it is open), then
 * nested emphasis, runs of `[`, deep quotes, a long table and a nested list, separated by blank
 * lines.
 */
export function adversarialTokens(count: number): string[] {
  const chars = 4 * (count - 1);
  const parts = ['unclosed *a', 'nested emphasis', 'runs of [', 'deep quotes', 'long table', 'indented list lines'];
  const weights = [0.4, 0.15, 0.1, 0.05, 0.2, 0.1];
  const text = parts.map((name, i) => SHAPES[name]!(Math.floor(chars * weights[i]!) - 2)).join('\n\n').padEnd(chars, ' ').slice(0, chars);
  const tokens: string[] = text.match(/[^]{1,4}/g) ?? [];
  tokens.push('END');
  return tokens;
}
