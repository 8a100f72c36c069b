import { h, type JSX } from 'preact';

/**
 * Stroke icons (24x24 grid, styled in launcher-styles.ts; the launcher's own two are in launcher.ts), decorative: the buttons carry the names. No
 * `focusable="false"`: only IE and old Edge put SVGs in the tab order, and neither can run the widget.
 */
const icon = (d: string, transform?: string) => (): JSX.Element => (
  <svg viewBox="0 0 24 24" aria-hidden="true">
    <path d={d} transform={transform} />
  </svg>
);

export const CloseIcon = icon('M6 6l12 12M18 6L6 18');
export const NewIcon = icon('M12 5v14M5 12h14');
export const CopyIcon = icon('M9 9h11v11H9zM5 15H4V4h11v1');
const THUMB = 'M7 10v10H4V10zM7 10l4-7a2 2 0 0 1 3 2l-1 4h6a2 2 0 0 1 2 2l-2 7a2 2 0 0 1-2 2H7';
export const UpIcon = icon(THUMB);
/** The same thumb upside down (a presentation attribute, not a style: CSP allows it). */
export const DownIcon = icon(THUMB, 'matrix(1 0 0 -1 0 24)');
