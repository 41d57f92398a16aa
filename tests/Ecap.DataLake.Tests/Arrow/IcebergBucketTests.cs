using System.Text;
using Xunit;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tests.Arrow;

public class IcebergBucketTests
{
    [Fact]
    public void Long_34_hashes_to_the_iceberg_spec_vector() =>
        Assert.Equal(2017239379, IcebergBucket.Hash(34L));

    [Fact]
    public void Long_hash_equals_hash_of_its_8_little_endian_bytes()
    {
        foreach (long v in new[] { 0L, 1L, -1L, 34L, long.MaxValue, long.MinValue, 1234567890123L })
            Assert.Equal(IcebergBucket.Hash(BitConverter.GetBytes(v)), IcebergBucket.Hash(v));
    }

    [Fact]
    public void String_iceberg_hashes_to_the_iceberg_spec_vector() =>
        Assert.Equal(1210000089, IcebergBucket.Hash("iceberg"));

    [Fact]
    public void String_hash_uses_utf8_bytes() =>
        Assert.Equal(IcebergBucket.Hash(Encoding.UTF8.GetBytes("café ✓")), IcebergBucket.Hash("café ✓"));

    [Fact]
    public void Buckets_are_the_masked_hash_modulo_n_and_in_range()
    {
        Assert.Equal((2017239379 & int.MaxValue) % 10, IcebergBucket.Bucket(34L, 10));
        for (long v = -1000; v < 1000; v++)
        {
            int b = IcebergBucket.Bucket(v, 10);
            Assert.InRange(b, 0, 9);
        }
    }
}
