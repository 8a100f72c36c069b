import { Router } from 'express';
import type { ModelOption, WidgetConfig } from '@chatdrop/shared';
import { visitorModels, type Config } from '../config.js';
import { strictRouter } from './strict-router.js';

/** `GET /api/config` and `GET /api/models`, mounted at `/api`: what the widget shows before a turn. */
export function configRouter(options: { config: Config; demo: boolean; handoff?: boolean }): Router {
  const { config, demo } = options;
  // Only what a visitor may choose: with the picker off, the default alias alone (the others are
  // the owner's business, and naming them would invite requests for them).
  const models: ModelOption[] = visitorModels(config).map((m) => ({ id: m.alias, label: m.alias }));
  // The contract's five fields, then the optional ones, present only when configured so a
  // default server answers exactly the contract.
  const widgetConfig: WidgetConfig = {
    title: config.title,
    greeting: config.greeting,
    starters: config.starters,
    models,
    demo,
    ...(config.supportUrl === undefined ? {} : { supportUrl: config.supportUrl }),
    ...(config.modelPicker ? { modelPicker: true } : {}),
    ...(options.handoff === true ? { handoff: true } : {}),
  };
  const router = strictRouter();
  // Short-lived caching: a config change shows up within a minute, and a page full of widgets
  // does not hit the server once per view.
  router.get('/config', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=60');
    res.json(widgetConfig);
  });
  router.get('/models', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=60');
    res.json({ models });
  });
  return router;
}
