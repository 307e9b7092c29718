import { invalidRequest } from './errors.js';
import { readParams, type ParamReader } from './params.js';
import { present } from './payment-intents.js';
import { defineRoute, ok, refused } from './route.js';
import { matchesQuery, parseSearchQuery, type SearchQuery } from './search-query.js';

/**
 * GET /v1/payment_intents/search?query=…&limit=…&page=…
 *
 * Like Stripe's index, search lags behind writes: a PaymentIntent created less than `searchLagMs` ago (on the
 * server's clock) is not found yet. Stripe documents "under 1 minute" and warns against read-after-write use;
 * the lag lets a test reach the window in which a lookup by metadata misses a PaymentIntent that exists. Only
 * creation lags here: a later change (status, metadata on capture) is visible at once — an approximation.
 *
 * Results come newest first, `limit` (1 … searchPageSizeMax, default 10) at a time; `next_page` is an opaque
 * cursor (the last id of the page) to pass back as `page`.
 */
interface SearchInput {
  query: SearchQuery;
  limit: number;
  page: string | undefined;
  expandCharge: boolean;
}

const defaultPageSize = 10;
const pageCursorPrefix = 'page_after_';

export const searchPaymentIntents = defineRoute<SearchInput>({
  method: 'GET',
  pattern: /^\/v1\/payment_intents\/search$/,
  authenticated: true,
  validate: (params, { limits }) =>
    readParams(
      params,
      ['query', 'limit', 'page', 'expand'],
      (r: ParamReader) => {
        const text = r.requiredString('query');
        if (text.length > limits.searchQueryLengthMax) r.refuse(invalidRequest(`The query is longer than ${limits.searchQueryLengthMax} characters.`, { param: 'query' }));
        const parsed = parseSearchQuery(text, limits.searchClausesMax);
        if (!parsed.ok) r.refuse(invalidRequest(parsed.message, { param: 'query' }));
        const limit = r.integer('limit', 1) ?? defaultPageSize;
        if (limit > limits.searchPageSizeMax) r.refuse(invalidRequest(`This value must be less than or equal to ${limits.searchPageSizeMax}.`, { param: 'limit' }));
        const page = r.string('page');
        if (page !== undefined && !page.startsWith(pageCursorPrefix)) r.refuse(invalidRequest(`Invalid page: ${page}`, { param: 'page' }));
        return { query: parsed.query, limit, page, expandCharge: r.expand(['data.latest_charge']).length > 0 };
      },
      limits,
    ),
  execute(ctx, input) {
    const visible = ctx.store.paymentIntentsNewestFirst().filter((e) => e.createdAtMs + ctx.searchLagMs <= ctx.nowMs);
    let start = 0;
    if (input.page !== undefined) {
      const after = visible.findIndex((e) => e.object.id === input.page!.slice(pageCursorPrefix.length));
      if (after < 0) return refused(invalidRequest(`Invalid page: ${input.page}`, { param: 'page' }));
      start = after + 1;
    }
    const data = [];
    let hasMore = false;
    for (let i = start; i < visible.length; i += 1) {
      const pi = visible[i]!.object;
      if (!matchesQuery(pi, input.query)) continue;
      if (data.length === input.limit) {
        hasMore = true;
        break;
      }
      data.push(present(ctx, pi, input.expandCharge ? ['latest_charge'] : []));
    }
    const last = data[data.length - 1];
    return ok({
      object: 'search_result',
      data,
      has_more: hasMore,
      next_page: hasMore && last !== undefined ? `${pageCursorPrefix}${last.id}` : null,
      url: '/v1/payment_intents/search',
    });
  },
});
