/**
 * Functions that run inside the page, the same code in every engine: `tab.ts` sends their source
 * text with JSON arguments through the driver's `evaluate`. So they must be self-contained (no
 * imports, no closures over this module) and may only take and return JSON.
 *
 * Roles and names follow WAI-ARIA 1.2's implicit roles and the accessible-name computation
 * (accname 1.2) for the elements a chat widget uses: enough to find "the button named Open chat"
 * without an engine's own accessibility API, which classic WebDriver (WebKit) does not expose.
 */

/** What a test looks for: an ARIA role and accessible name, or a CSS selector in any (open) shadow root. */
export type Target = { role: string; name?: string } | { css: string };

export interface Found {
  /** How many elements match (for a role: visible ones only, as a screen reader would see them). */
  count: number;
  visible: boolean;
  /** The first match's border box in viewport CSS pixels. */
  box: { x: number; y: number; width: number; height: number } | null;
  text: string;
  /** A pointer at the centre of the box would land on this element (nothing covers it). */
  onTop: boolean;
  /** What is at the centre instead, when something covers it. */
  atCentre: string;
}

/** Every element matching `target`, in document order, searching every open shadow root. */
export function findAll(target: Target): Element[] {
  const roots: Array<Document | ShadowRoot> = [document];
  const elements: Element[] = [];
  for (let i = 0; i < roots.length; i++) {
    for (const element of roots[i]!.querySelectorAll('*')) {
      elements.push(element);
      if (element.shadowRoot) roots.push(element.shadowRoot);
    }
  }
  const collapse = (text: string | null | undefined) => (text ?? '').replace(/\s+/g, ' ').trim();
  const roleOf = (element: Element): string => {
    const explicit = element.getAttribute('role');
    if (explicit) return explicit.trim().split(' ')[0]!;
    const tag = element.localName;
    if (tag === 'input') {
      const type = (element.getAttribute('type') ?? 'text').toLowerCase();
      if (['button', 'submit', 'reset'].includes(type)) return 'button';
      return ['text', 'email', 'search', 'tel', 'url'].includes(type) ? 'textbox' : type;
    }
    const implicit: Record<string, string> = {
      button: 'button', textarea: 'textbox', dialog: 'dialog', select: 'combobox', ul: 'list', ol: 'list',
      li: 'listitem', h1: 'heading', h2: 'heading', h3: 'heading', h4: 'heading', h5: 'heading', h6: 'heading',
    };
    if (tag === 'a') return element.hasAttribute('href') ? 'link' : '';
    return implicit[tag] ?? '';
  };
  const nameOf = (element: Element): string => {
    const root = element.getRootNode() as Document | ShadowRoot;
    const labelledBy = element.getAttribute('aria-labelledby');
    if (labelledBy) {
      return collapse(labelledBy.split(/\s+/).map((id) => root.getElementById(id)?.textContent ?? '').join(' '));
    }
    const label = collapse(element.getAttribute('aria-label'));
    if (label) return label;
    const labels = (element as HTMLInputElement).labels;
    if (labels && labels.length > 0) return collapse([...labels].map((l) => l.textContent).join(' '));
    if (['button', 'link', 'heading', 'listitem'].includes(roleOf(element))) return collapse(element.textContent);
    return collapse(element.getAttribute('title') ?? element.getAttribute('placeholder'));
  };
  // Hidden from everyone: not rendered, or inside aria-hidden (across shadow boundaries).
  const hidden = (element: Element): boolean => {
    if (!element.checkVisibility({ visibilityProperty: true } as CheckVisibilityOptions)) return true;
    for (let node: Element | null = element; node; ) {
      if (node.getAttribute('aria-hidden') === 'true') return true;
      node = node.parentElement ?? ((node.getRootNode() as ShadowRoot).host as Element | undefined) ?? null;
    }
    return false;
  };
  if ('css' in target) {
    return roots.flatMap((root) => [...root.querySelectorAll(target.css)]);
  }
  return elements.filter(
    (element) => roleOf(element) === target.role && (target.name === undefined || nameOf(element) === target.name) && !hidden(element),
  );
}

/** A snapshot of the first element matching `target`; scrolls it into view first when asked. */
export function inspect(target: Target, scroll: boolean): Found {
  const matches = findAll(target);
  const element = matches[0];
  if (!element) return { count: 0, visible: false, box: null, text: '', onTop: false, atCentre: '' };
  if (scroll) element.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  const rect = element.getBoundingClientRect();
  const visible = element.checkVisibility({ visibilityProperty: true } as CheckVisibilityOptions) && rect.width > 0 && rect.height > 0;
  const x = rect.left + rect.width / 2;
  const y = rect.top + rect.height / 2;
  // The deepest element at the centre: elementFromPoint stops at a shadow host, so descend.
  let hit: Element | null = document.elementFromPoint(x, y);
  while (hit?.shadowRoot) {
    const inner = hit.shadowRoot.elementFromPoint(x, y);
    if (!inner || inner === hit) break;
    hit = inner;
  }
  const describe = (node: Element | null) =>
    node ? `<${node.localName}${node.id ? `#${node.id}` : ''}${node.className && typeof node.className === 'string' ? `.${node.className.split(' ').join('.')}` : ''}>` : 'nothing';
  return {
    count: matches.length,
    visible,
    box: { x: rect.left, y: rect.top, width: rect.width, height: rect.height },
    text: element.textContent ?? '',
    onTop: hit !== null && (hit === element || element.contains(hit)),
    atCentre: describe(hit),
  };
}

/** The focused element, through shadow roots: its aria-label, else its text. */
export function focusedName(): string {
  let element: Element | null = document.activeElement;
  while (element?.shadowRoot?.activeElement) element = element.shadowRoot.activeElement;
  if (!element || element === document.body) return '';
  return element.getAttribute('aria-label') ?? (element.textContent ?? '').trim();
}
