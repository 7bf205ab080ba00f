using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PachPS.Engine;

namespace PachPS.Server;

/// <summary>
/// The certificate a server serves TLS with: a given PFX or PEM, else a self-signed one made on first start and kept
/// in &lt;store&gt;/server/certificate.pfx (readable by the server's user only), so its thumbprint stays what clients pinned.
/// </summary>
public static class ServerCertificate
{
    public static X509Certificate2 Load(ServerOptions options)
    {
        if (options.Certificate is { } file)
        {
            try
            {
                if (file.EndsWith(".pem", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".crt", StringComparison.OrdinalIgnoreCase))
                    return X509Certificate2.CreateFromPemFile(file, options.CertificateKey);
                var password = options.CertificatePasswordVariable is { } v ? Environment.GetEnvironmentVariable(v) : null;
                return X509CertificateLoader.LoadPkcs12FromFile(file, password);
            }
            catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
            {
                throw new PachException("CertificateInvalid", PachErrorKind.InvalidArgument, $"Cannot load the certificate '{file}': {ex.Message}", file, ex);
            }
        }
        var path = Path.Combine(options.Store, "server", "certificate.pfx");
        if (File.Exists(path)) return X509CertificateLoader.LoadPkcs12FromFile(path, null);
        var made = SelfSigned(options.Listen.Host);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using (var stream = PrivateFile.Create(path, FileMode.CreateNew))
            stream.Write(made.Export(X509ContentType.Pkcs12));
        return X509CertificateLoader.LoadPkcs12FromFile(path, null);
    }

    /// <summary>A self-signed certificate for localhost, loopback, this machine's name and the listen host, valid 5 years.</summary>
    private static X509Certificate2 SelfSigned(string host)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=pachps-server ({Dns.GetHostName()})", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddDnsName(Dns.GetHostName());
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        if (IPAddress.TryParse(host.Trim('[', ']'), out var ip)) { if (!IPAddress.IsLoopback(ip) && !ip.Equals(IPAddress.Any) && !ip.Equals(IPAddress.IPv6Any)) names.AddIpAddress(ip); }
        else if (host != "localhost" && host != Dns.GetHostName()) names.AddDnsName(host);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(5));
    }
}
