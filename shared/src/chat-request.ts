/**
 * The body of `POST /api/chat`. The browser sends only the new message: never history,
 * roles or a system prompt. The server keeps the conversation.
 */
export interface ChatRequest {
  conversationId?: string;
  message: string;
  /** A model alias from the server's allowlist, not an upstream model id. */
  model?: string;
}

/** The body of `POST /api/feedback`. */
export interface FeedbackRequest {
  conversationId: string;
  messageId: string;
  rating: 'up' | 'down';
}

/** The answer of `GET /api/config`. */
export interface WidgetConfig {
  title: string;
  greeting: string;
  starters: string[];
  models: ModelOption[];
  /** True when the built-in offline demo model answers instead of a real upstream. */
  demo: boolean;
}

export interface ModelOption {
  id: string;
  label: string;
}
