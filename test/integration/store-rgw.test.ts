/**
 * The ObjectStore contract and the S3 listing/failure suite on Ceph RGW, a
 * real S3 implementation (store-s3 runs the same on s3rver). One cluster for
 * the file; each test gets a gateway and tenant (bucket namespace) of its own.
 */
import { S3ObjectStore } from '../../src/store/s3-object-store.js'
import { RGW_QUIRKS, rgwPerFile } from '../helpers/ceph-rgw.js'
import { s3StoreSuite } from '../helpers/s3-store-suite.js'
import { objectStoreContract } from '../helpers/store-contract.js'

const rgw = rgwPerFile()

objectStoreContract('S3ObjectStore on Ceph RGW', async () => {
  const gw = await rgw({ name: 'contract' })
  return {
    store: S3ObjectStore.fromConfig(gw.config),
    createBucket: (name) => gw.createBucket(name),
    quirks: RGW_QUIRKS,
    dispose: async () => {
      await gw[Symbol.asyncDispose]()
    },
  }
})

s3StoreSuite('Ceph RGW', rgw)
