// s3_server.js: starts the S3-compatible test server (s3rver, the fork that
// verifies SigV4 signatures; scripts/install-deps.sh installs it) for the
// e2e tests: node s3_server.js MODULE_DIR DATA_DIR PORT BUCKET [KEY CERT].
// Credentials are s3rver's fixed pair (S3RVER / S3RVER); PORT 0 picks a free
// port; with KEY and CERT (PEM files) it speaks HTTPS. Prints "s3rver
// listening on PORT" once it accepts requests.
const fs = require('fs');
const S3rver = require(process.argv[2]);
const options = {
  address: '127.0.0.1',
  port: Number(process.argv[4]),
  directory: process.argv[3],
  silent: true,
  configureBuckets: [{ name: process.argv[5] }],
};
if (process.argv[7]) {
  options.key = fs.readFileSync(process.argv[6]);
  options.cert = fs.readFileSync(process.argv[7]);
}
const server = new S3rver(options);
server
  .run()
  .then((addr) => console.log(`s3rver listening on ${addr.port}`))
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
