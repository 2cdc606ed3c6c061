module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'e2e',
  // The chaos run is bounded to about two minutes; the rest is start-up and checks.
  testTimeout: 180_000,
};
