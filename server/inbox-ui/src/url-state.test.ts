import { describe, expect, it } from 'vitest';
import { apiQuery, hrefOf, NO_FILTERS, readLocation } from './url-state.js';

describe('the inbox URL', () => {
  it('round-trips every filter, the view and the open conversation', () => {
    const location = readLocation('?q=refund+policy&rating=down&problem=failed&handoff=1&model=smart&page=%2Fpricing&from=2030-01-01&to=2030-01-07&c=AbC_-123');
    expect(location).toEqual({
      filters: { q: 'refund policy', rating: 'down', problem: 'failed', handoff: '1', model: 'smart', page: '/pricing', from: '2030-01-01', to: '2030-01-07' },
      view: 'list',
      conversation: 'AbC_-123',
    });
    expect(readLocation(hrefOf(location).slice('/inbox'.length))).toEqual(location);
    expect(hrefOf({ filters: NO_FILTERS, view: 'list', conversation: undefined })).toBe('/inbox');
    expect(hrefOf({ filters: NO_FILTERS, view: 'figures', conversation: undefined })).toBe('/inbox?view=figures');
  });

  it('drops values it does not know rather than pass them on', () => {
    const location = readLocation('?rating=meh&problem=%3Cscript%3E&handoff=yes&from=yesterday&to=2030-1-1&c=..%2Fx&view=admin');
    expect(location).toEqual({ filters: NO_FILTERS, view: 'list', conversation: undefined });
  });

  it('asks the API for whole local days, the last one included', () => {
    const query = new URLSearchParams(apiQuery({ ...NO_FILTERS, rating: 'down', from: '2030-03-01', to: '2030-03-07' }));
    expect(query.get('rating')).toBe('down');
    expect(query.get('from')).toBe(new Date(2030, 2, 1).toISOString());
    expect(query.get('to')).toBe(new Date(2030, 2, 8).toISOString());
    expect(apiQuery(NO_FILTERS)).toBe('');
  });
});
