import { createHash, timingSafeEqual } from 'node:crypto';
import type { HttpRequest, HttpResponse } from './request.js';
import { errorResponse } from './error-response.js';

/**
 * Admin routes need `Authorization: Bearer <ADMIN_TOKEN>`: 401 UNAUTHORIZED without it, 403 FORBIDDEN with a wrong
 * one. Tokens are compared as SHA-256 digests in constant time, so neither length nor content leaks by timing.
 */
export function adminGuard(adminToken: string): (req: HttpRequest) => HttpResponse | null {
  const expected = createHash('sha256').update(adminToken).digest();
  return (req) => {
    const header = req.headers['authorization'];
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) return errorResponse('UNAUTHORIZED', undefined, { 'www-authenticate': 'Bearer' });
    const given = createHash('sha256').update(match[1]!).digest();
    return timingSafeEqual(given, expected) ? null : errorResponse('FORBIDDEN');
  };
}
