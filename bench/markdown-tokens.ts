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
