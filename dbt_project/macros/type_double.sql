{#
    An 8-byte float on every warehouse. dbt.type_float() is a 4-byte FLOAT on
    DuckDB, too coarse for rates compared to 1e-9.
#}
{% macro type_double() -%}
    double precision
{%- endmacro %}
