import type { FastifyPluginAsync } from 'fastify';
import { htmlResponse } from './openapi';

/**
 * What a service's self-contained live page may do: its own inline script and style, and
 * fetches to its own origin; nothing from anywhere else.
 */
export const DASHBOARD_PAGE_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:";

export interface DashboardPageOptions {
  /** The whole HTML document. */
  page: string;
  summary: string;
  description: string;
  /** What the 200 answer is, for the OpenAPI document. */
  responseDescription: string;
}

/** `GET /`: a service's live page, never cached (it changes with a deployment) and under DASHBOARD_PAGE_CSP. */
export const dashboardPageRoute: FastifyPluginAsync<DashboardPageOptions> = async (app, options) => {
  app.get(
    '/',
    {
      schema: {
        tags: ['dashboard'],
        summary: options.summary,
        description: options.description,
        response: { 200: htmlResponse(options.responseDescription) },
      },
    },
    async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('content-security-policy', DASHBOARD_PAGE_CSP)
        .send(options.page),
  );
};
