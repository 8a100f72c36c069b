export { createApp, type AppOptions } from './app.js';
export { ConfigError, parseConfig, type Config, type Env, type ModelEntry } from './config.js';
export { startDemoUpstream, type DemoUpstream } from './demo-upstream.js';
export { ReplyRegistry } from './reply-registry.js';
export { Metrics } from './metrics.js';
export { createUpstreamClient } from './upstream-client.js';
