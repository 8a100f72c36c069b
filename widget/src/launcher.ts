/**
 * The launcher, drawn by the loader with plain DOM calls (no framework: it must be on screen
 * within a frame of widget.js arriving, and cost the page almost nothing). The panel redraws it
 * through `draw` when it opens, closes or has an unread reply.
 *
 * Built with createElement/createElementNS, not markup strings: no innerHTML, so a page enforcing
 * Trusted Types accepts it too. The icons are the panel's chat and close strokes (icons.tsx).
 */
const svg = (d: string): SVGSVGElement => {
  const ns = 'http://www.w3.org/2000/svg';
  const icon = document.createElementNS(ns, 'svg');
  const path = document.createElementNS(ns, 'path');
  icon.setAttribute('viewBox', '0 0 24 24');
  icon.setAttribute('aria-hidden', 'true');
  path.setAttribute('d', d);
  icon.append(path);
  return icon;
};

export interface Launcher {
  button: HTMLButtonElement;
  draw(open: boolean, unread: boolean): void;
}

/** `names`: the accessible name while the panel is closed, and while it is open. */
export function createLauncher(root: ParentNode, [openName, closeName]: readonly [string, string]): Launcher {
  const button = document.createElement('button');
  const chat = svg('M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-5A8 8 0 1 1 21 12z');
  const close = svg('M6 6l12 12M18 6L6 18');
  const dot = document.createElement('span');
  button.type = 'button';
  button.className = 'launcher';
  dot.className = 'dot';
  dot.setAttribute('aria-hidden', 'true');
  const draw = (open: boolean, unread: boolean) => {
    button.setAttribute('aria-label', open ? closeName : openName);
    button.setAttribute('aria-expanded', `${open}`);
    button.replaceChildren(open ? close : chat, ...(unread ? [dot] : []));
  };
  draw(false, false);
  root.append(button);
  return { button, draw };
}
