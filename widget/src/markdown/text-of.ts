import type { ComponentChildren, VNode } from 'preact';
import { step } from './work.js';

/** Elements after which the words of the next one start on a new line. */
const BLOCK = /^(p|h\d|li|tr|hr|blockquote|ul|ol|table)$/;

/**
 * The words of rendered markdown, without its marks: an image's alt text (§6.4: the description's
 * plain text) and what a screen reader hears of a finished reply (plain-text.ts). A code block
 * gives its code; table cells are separated by a space, blocks by a line break.
 */
export function textOf(node: ComponentChildren): string {
  step();
  if (node == null || typeof node == 'boolean') return '';
  if (typeof node != 'object') return '' + node;
  if (Array.isArray(node)) return node.map(textOf).join('');
  const { type, props } = node as VNode<{ code?: string; children?: ComponentChildren }>;
  const text = props.code ?? textOf(props.children);
  return typeof type != 'string' ? text + '\n' : BLOCK.test(type) ? text + '\n' : /^t[dh]$/.test(type) ? text + ' ' : text;
}
