import { S3ObjectStore } from '../../src/store/s3-object-store.js'
import { S3RVER_QUIRKS, S3Server, S3_TEST_CREDENTIALS, S3_TEST_REGION } from '../helpers/s3-server.js'
import { objectStoreContract } from '../helpers/store-contract.js'

objectStoreContract('S3ObjectStore on s3rver', async () => {
  const s3 = await S3Server.start()
  return {
    store: S3ObjectStore.fromConfig({
      endpoint: s3.endpoint,
      region: S3_TEST_REGION,
      credentials: S3_TEST_CREDENTIALS,
    }),
    createBucket: (name) => s3.createBucket(name),
    dispose: () => s3[Symbol.asyncDispose](),
    quirks: S3RVER_QUIRKS,
  }
})
