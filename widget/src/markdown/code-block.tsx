/** @jsx h */ // (the widget's own setting, spelled out for tools that read this file outside its build: the bench)
import { h } from 'preact';
import { useCopy } from '../use-copy.js';

export interface CodeLabels {
  readonly copy: string;
  readonly copied: string;
}

/** A fenced code block: its language, a Copy button, and the code as text. */
export function CodeBlock({ code, lang, labels }: { code: string; lang: string; labels: CodeLabels }) {
  const [copied, copy] = useCopy();
  return (
    <div class="cb">
      <div class="bar">
        <span>{lang}</span>
        <button onClick={() => copy(code)}>
          {copied ? labels.copied : labels.copy}
        </button>
      </div>
      {/* Focusable so a keyboard can scroll a long line sideways (WCAG 2.1.1). */}
      <pre tabIndex={0}>
        <code>{code}</code>
      </pre>
    </div>
  );
}
