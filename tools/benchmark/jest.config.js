module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'benchmark',
  testTimeout: 30_000,
};
