global using Xunit;
global using Ecap.TestSupport;
global using Ecap.DataLake.Tables.Partitioning;
