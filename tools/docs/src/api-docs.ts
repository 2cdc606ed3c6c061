import type { ServiceName } from './collect';
import { renderApiDocs, type OpenApiDocument } from './render';

/** The page for the three services, in the order a request meets them. */
export function apiDocsFrom(documents: Record<ServiceName, OpenApiDocument>): string {
  return renderApiDocs([
    { name: 'Registry', defaultPort: 9000, document: documents.registry },
    { name: 'Agency', defaultPort: 9001, document: documents.agency },
    { name: 'DCU', defaultPort: 9002, document: documents.dcu },
  ]);
}
