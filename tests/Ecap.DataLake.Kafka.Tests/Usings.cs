global using Xunit;
global using Ecap.TestSupport;
