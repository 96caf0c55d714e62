using System.Data.Common;

namespace Lineup.Server.Storage;

/// <summary>For the few statements written with ADO.NET itself rather than Dapper.</summary>
internal static class DbCommandExtensions
{
    public static void AddParameter(this DbCommand command, string name, object value)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        command.Parameters.Add(p);
    }
}
