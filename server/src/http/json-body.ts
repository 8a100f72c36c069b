import express, { type RequestHandler } from 'express';
import { ApiError } from './api-error.js';

/**
 * The JSON body parser for API routes that take a body. express.json silently skips a body with
 * another content type (leaving `req.body` undefined), which would turn `text/plain` into a
 * misleading "missing message"; the contract answers 415 instead.
 *
 * `limit` bounds the raw body: a message at the character limit fits easily even when every
 * character is escaped as `\uXXXX`; anything bigger is refused as `too-large` before parsing.
 */
export function jsonBody(limit: string | number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    if (req.is('application/json') === false || req.get('content-type') === undefined) {
      next(new ApiError('bad-request', 415, 'The request must be sent as application/json.'));
      return;
    }
    next();
  };
  return [requireJson, express.json({ limit, strict: true })];
}
