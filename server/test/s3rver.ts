import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { S3BlobStore } from '../src/adapters/s3-blob-store.js';

/** s3rver (an S3 imitation from npm) as a real HTTP endpoint on 127.0.0.1, port 0, in its own directory. */
export async function startS3rver(bucket = 'shutter-test'): Promise<{
  endpoint: string;
  bucket: string;
  directory: string;
  store(): S3BlobStore;
  close(): Promise<void>;
}> {
  const directory = await mkdtemp(join(tmpdir(), 'shutter-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const addr = await server.run();
  const endpoint = `http://127.0.0.1:${addr.port}`;
  const stores: S3BlobStore[] = [];
  return {
    endpoint,
    bucket,
    directory,
    store() {
      const s = new S3BlobStore({
        bucket,
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      });
      stores.push(s);
      return s;
    },
    async close() {
      for (const s of stores) s.close();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
