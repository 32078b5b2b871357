<?xml version="1.0" encoding="UTF-8"?>
<!-- X-Road getPerson (document/literal) to the register's RPC/encoded getPerson(isikukood). -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:tns="http://population.sandbox.sild.eu/producer"
    xmlns:rr="urn:ee:rahvastikuregister:legacy"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    exclude-result-prefixes="tns">
  <xsl:param name="userId"/>
  <xsl:template match="/tns:getPerson">
    <rr:getPerson>
      <isikukood xsi:type="xsd:string"><xsl:value-of select="normalize-space(tns:personCode)"/></isikukood>
    </rr:getPerson>
  </xsl:template>
</xsl:stylesheet>
