using CloudProxy.Host;

return await CloudProxyApp.RunAsync(args, Console.Out, Console.Error);
