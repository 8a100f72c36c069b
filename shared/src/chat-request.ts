/**
 * The body of `POST /api/chat`. The browser sends only the new message: never history,
 * roles or a system prompt. The server keeps the conversation.
 */
export interface ChatRequest {
  conversationId?: string;
  message: string;
  /** A model alias from the server's allowlist, not an upstream model id. */
  model?: string;
  /** The URL of the page the visitor is on; the server keeps it without query or fragment. */
  page?: string;
}

/** The body of `POST /api/feedback`. */
export interface FeedbackRequest {
  conversationId: string;
  messageId: string;
  rating: 'up' | 'down';
}

/** The body of `POST /api/handoff`: the visitor asks for a person to answer by email. */
export interface HandoffRequest {
  conversationId: string;
  email: string;
  note?: string;
}

/** The answer of `GET /api/config`. */
export interface WidgetConfig {
  title: string;
  greeting: string;
  starters: string[];
  models: ModelOption[];
  /** True when the built-in offline demo model answers instead of a real upstream. */
  demo: boolean;
  /** `CHATDROP_SUPPORT_URL`: a "Contact support" link (`http:`, `https:` or `mailto:`); absent when unset. */
  supportUrl?: string;
  /** `CHATDROP_MODEL_PICKER`: visitors may choose among `models`; absent when not allowed. */
  modelPicker?: boolean;
  /** True where a hand-off channel (webhook or email) is configured: the widget offers "Talk to a person". */
  handoff?: boolean;
}

export interface ModelOption {
  id: string;
  label: string;
}
