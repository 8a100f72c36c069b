export { createApp, type AppOptions } from './app.js';
export { ConfigError, parseConfig, type Config, type Env, type ModelEntry } from './config.js';
export { startDemoUpstream, type DemoUpstream } from './upstream/demo-upstream.js';
export { ReplyRegistry } from './chat/reply-registry.js';
export { Metrics } from './observability/metrics.js';
export { createUpstreamClient } from './upstream/upstream-client.js';
export { Knowledge, type KnowledgeStatus } from './knowledge/knowledge.js';
