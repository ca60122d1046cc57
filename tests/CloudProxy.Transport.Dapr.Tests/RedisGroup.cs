using CloudProxy.Tests.Common.Dapr;

namespace CloudProxy.Transport.Dapr.Tests;

/// <summary>One real redis-server for every test class that keeps state through the sidecar double.</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    public RedisServer Redis { get; private set; } = null!;

    public async Task InitializeAsync() => Redis = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await Redis.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class RedisGroup : ICollectionFixture<RedisFixture>
{
    public const string Name = "redis";
}
