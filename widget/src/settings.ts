import type { ModelOption, WidgetConfig } from '@chatdrop/shared';
import type { PanelOptions } from './embed-options.js';
import type { Strings } from './strings.js';
import { safeHref } from './safe-href.js';

/** What the panel shows: `/api/config`, overridden by the script tag, with local defaults. */
export interface Settings {
  title: string;
  greeting: string;
  starters: readonly string[];
  models: readonly ModelOption[];
  demo: boolean;
  /** Only `http:`, `https:` or `mailto:`; a bare address becomes `mailto:`. */
  supportUrl?: string;
  modelPicker: boolean;
  avatar?: string;
  /** A hand-off channel is configured: offer "Talk to a person". */
  handoff: boolean;
}

export function mergeSettings(server: Partial<WidgetConfig>, embed: PanelOptions, t: Strings): Settings {
  // The avatar is the script tag's alone (`data-avatar`): `/api/config` has none.
  const { avatar } = embed;
  return {
    title: embed.title ?? (str(server.title) || t.title),
    greeting: embed.greeting ?? str(server.greeting),
    starters: embed.starters ?? (Array.isArray(server.starters) ? server.starters.filter((s) => typeof s === 'string' && s) : []),
    models: Array.isArray(server.models) ? server.models.filter((m) => typeof m?.id === 'string') : [],
    demo: server.demo === true,
    supportUrl: safeLink(server.supportUrl),
    modelPicker: server.modelPicker === true,
    handoff: server.handoff === true,
    avatar: avatar && safeLink(avatar)?.startsWith('http') ? avatar : undefined,
  };
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '');

/**
 * The server's config is trusted less than our own code: the same allowlist as links in replies
 * (safe-href.ts), so no `javascript:` reaches an href; a bare address becomes `mailto:`.
 */
function safeLink(value: unknown): string | undefined {
  // (Anything but a string is '', which safeHref refuses.)
  const v = str(value).trim();
  return safeHref(/^[^\s@/:]+@[^\s@/]+$/.test(v) ? `mailto:${v}` : v);
}
