import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Config } from '../../config/index.js';
import type { BlobStore } from './blob-store.js';
import { LocalBlobStore } from './local-blob-store.js';
import { S3BlobStore } from './s3-blob-store.js';

/**
 * The object store the configuration names: S3 (or compatible) when
 * S3_ENDPOINT is set, otherwise a directory under DATA_DIR/media served by
 * this node (mount `createMediaRoutes`, which `createUploadRoutes` includes).
 */
export function createBlobStore(config: Pick<Config, 'media' | 'services'>): BlobStore {
  const m = config.media;
  if (m.s3Endpoint) {
    return new S3BlobStore({
      bucket: m.s3Bucket,
      endpoint: m.s3Endpoint,
      region: m.s3Region,
      forcePathStyle: m.s3ForcePathStyle,
      ...(m.s3AccessKeyId
        ? { credentials: { accessKeyId: m.s3AccessKeyId, secretAccessKey: m.s3SecretAccessKey } }
        : {}),
    });
  }
  return new LocalBlobStore({
    root: join(config.services.dataDir, 'media'),
    // Without a configured secret, URLs die with the process: fine for the
    // embedded single node, which is the only user of the local store.
    signingSecret: m.signingSecret || randomBytes(32),
    ...(m.publicUrl ? { publicUrl: m.publicUrl } : {}),
  });
}
