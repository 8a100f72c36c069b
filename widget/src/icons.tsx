import { h, type JSX } from 'preact';

/** Stroke icons (24x24 grid, styled in styles.ts), decorative: the buttons carry the names. */
const icon = (d: string) => (): JSX.Element => (
  <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
    <path d={d} />
  </svg>
);

export const ChatIcon = icon('M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-5A8 8 0 1 1 21 12z');
export const CloseIcon = icon('M6 6l12 12M18 6L6 18');
export const NewIcon = icon('M12 5v14M5 12h14');
export const CopyIcon = icon('M9 9h11v11H9zM5 15H4V4h11v1');
export const UpIcon = icon('M7 10v10H4V10zM7 10l4-7a2 2 0 0 1 3 2l-1 4h6a2 2 0 0 1 2 2l-2 7a2 2 0 0 1-2 2H7');
export const DownIcon = icon('M7 14V4H4v10zM7 14l4 7a2 2 0 0 0 3-2l-1-4h6a2 2 0 0 0 2-2l-2-7a2 2 0 0 0-2-2H7');
