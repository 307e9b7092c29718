import { describe, expect, it } from 'vitest';
import { mailboxDepthSeries } from '../../../src/node/metric-sources.js';

describe('boxoffice_mailbox_depth series', () => {
  it('exports every known actor kind, 0 while it has no actor', () => {
    expect(mailboxDepthSeries(new Map())).toEqual(new Map([['inventory', 0], ['checkout', 0]]));
  });

  it('names the kinds by what the actors are, and keeps other prefixes as they are', () => {
    expect(mailboxDepthSeries(new Map([['sku', 7], ['checkouts', 2], ['drop', 1]]))).toEqual(new Map([['inventory', 7], ['checkout', 2], ['drop', 1]]));
  });
});
