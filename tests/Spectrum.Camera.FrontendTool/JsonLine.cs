using System.Globalization;
using System.Text;

namespace Spectrum.Camera.FrontendTool;

/// <summary>Builds one flat JSON object by hand (no reflection, so the trimmed single file needs nothing).</summary>
internal sealed class JsonLine
{
    private readonly StringBuilder _b = new("{");

    public JsonLine(string eventName) => Add("event", eventName);

    public JsonLine Add(string name, string? value)
    {
        Key(name);
        if (value is null)
        {
            _b.Append("null");
        }
        else
        {
            Quote(value);
        }

        return this;
    }

    public JsonLine Add(string name, long value)
    {
        Key(name);
        _b.Append(value.ToString(CultureInfo.InvariantCulture));
        return this;
    }

    public JsonLine Add(string name, ulong value)
    {
        Key(name);
        _b.Append(value.ToString(CultureInfo.InvariantCulture));
        return this;
    }

    public JsonLine Add(string name, double value)
    {
        Key(name);
        _b.Append(double.IsFinite(value) ? Math.Round(value, 2).ToString("0.##", CultureInfo.InvariantCulture) : "null");
        return this;
    }

    public JsonLine Add(string name, bool value)
    {
        Key(name);
        _b.Append(value ? "true" : "false");
        return this;
    }

    public override string ToString() => _b.ToString() + "}";

    private void Key(string name)
    {
        if (_b.Length > 1)
        {
            _b.Append(',');
        }

        Quote(name);
        _b.Append(':');
    }

    private void Quote(string s)
    {
        _b.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': _b.Append("\\\""); break;
                case '\\': _b.Append("\\\\"); break;
                case < ' ': _b.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: _b.Append(c); break;
            }
        }

        _b.Append('"');
    }
}
