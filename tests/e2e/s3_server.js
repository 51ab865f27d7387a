// s3_server.js: starts the S3-compatible test server (s3rver, the fork that
// verifies SigV4 signatures; scripts/install-deps.sh installs it) for the
// e2e tests: node s3_server.js MODULE_DIR DATA_DIR PORT BUCKET [KEY CERT].
// Credentials are s3rver's fixed pair (S3RVER / S3RVER); PORT 0 picks a free
// port; with KEY and CERT (PEM files) it speaks HTTPS. Prints "s3rver
// listening on PORT" once it accepts requests.
// Two environment variables make it a test double:
//   S3_SERVER_REQUEST_LOG=FILE  appends "METHOD PATH" of every request
//   S3_SERVER_LIST_SIZE_LIE=RE  a listing gives the size of every object
//                               whose key matches the regular expression
//                               RE as 1 byte (GET still sends the object)
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
const requestLog = process.env.S3_SERVER_REQUEST_LOG;
const lie = process.env.S3_SERVER_LIST_SIZE_LIE
  ? new RegExp(process.env.S3_SERVER_LIST_SIZE_LIE)
  : null;
if (requestLog || lie) {
  // outermost (Koa runs its middleware in order), so a listing's body is
  // already XML text when it comes back here
  server.middleware.unshift(async (ctx, next) => {
    if (requestLog) fs.appendFileSync(requestLog, `${ctx.method} ${ctx.path}\n`);
    await next();
    if (lie && typeof ctx.body === 'string' && ctx.body.includes('<ListBucketResult')) {
      ctx.body = ctx.body.replace(/<Contents>[\s\S]*?<\/Contents>/g, (c) => {
        const key = /<Key>([^<]*)<\/Key>/.exec(c);
        return key && lie.test(key[1]) ? c.replace(/<Size>\d+<\/Size>/, '<Size>1</Size>') : c;
      });
    }
  });
}
server
  .run()
  .then((addr) => console.log(`s3rver listening on ${addr.port}`))
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
